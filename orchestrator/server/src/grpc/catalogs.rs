//! `interarec.v1.CatalogService`: the client-streaming import and the catalog queries.

use super::auth::Gate;
use super::{paging, status};
use crate::access::Scope;
use crate::catalogs::{Catalogs, ImportSpec};
use interarec_choice::item::Item;
use interarec_core::catalog::{AttributeType, CatalogFormat, CatalogRecord};
use interarec_proto::convert;
use interarec_proto::v1 as pb;
use pb::catalog_service_server::CatalogService;
use tonic::{Request, Response, Status, Streaming};

/// The service implementation.
pub struct CatalogServiceImpl {
    catalogs: Catalogs,
    gate: Gate,
}

impl CatalogServiceImpl {
    /// A service over `catalogs`; `gate` keeps import and removal for the admin.
    pub fn new(catalogs: Catalogs, gate: Gate) -> Self {
        CatalogServiceImpl { catalogs, gate }
    }
}

fn catalog_info(record: &CatalogRecord) -> pb::CatalogInfo {
    pb::CatalogInfo {
        catalog_id: record.id.clone(),
        name: record.name.clone(),
        item_count: record.item_count,
        price_min: record.price_min,
        price_max: record.price_max,
        attributes: record
            .attributes
            .iter()
            .map(|attribute| pb::AttributeInfo {
                name: attribute.name.clone(),
                r#type: match attribute.kind {
                    AttributeType::Text => pb::AttributeType::Text,
                    AttributeType::Number => pb::AttributeType::Number,
                    AttributeType::List => pb::AttributeType::List,
                } as i32,
                unit: attribute.unit.clone().unwrap_or_default(),
                vocabulary: attribute.vocabulary.clone().unwrap_or_default(),
                min: attribute.min,
                max: attribute.max,
                present: attribute.present,
            })
            .collect(),
        imported_at: Some(convert::timestamp(record.imported_at_unix_ms)),
        rejected_rows: record.rejected_rows,
    }
}

fn catalog_item(item: Item) -> pb::CatalogItem {
    // Attribute values serialise as what they are (number, text, list): the Struct's values.
    let attributes = serde_json::to_value(&item.attributes).unwrap_or_default();
    pb::CatalogItem {
        id: item.id,
        title: item.title,
        price: item.price,
        image: item.image.unwrap_or_default(),
        attributes: Some(convert::to_struct(&attributes)),
    }
}

#[tonic::async_trait]
impl CatalogService for CatalogServiceImpl {
    async fn import_catalog(
        &self,
        request: Request<Streaming<pb::ImportCatalogRequest>>,
    ) -> Result<Response<pb::ImportCatalogResponse>, Status> {
        self.gate.admin(&request, "importing a catalog")?;
        let mut stream = request.into_inner();
        let header = match stream.message().await? {
            Some(pb::ImportCatalogRequest {
                part: Some(pb::import_catalog_request::Part::Header(header)),
            }) => header,
            _ => {
                return Err(status::bad_request(
                    "the first message of an import must be its header (catalog id, format, ...)",
                ));
            }
        };
        let format = match pb::CatalogFormat::try_from(header.format) {
            Ok(pb::CatalogFormat::Csv) => CatalogFormat::Csv,
            Ok(pb::CatalogFormat::Jsonl) => CatalogFormat::Jsonl,
            _ => {
                return Err(status::bad_request("the import header needs a format: CSV or JSONL"));
            }
        };
        let spec = ImportSpec {
            id: header.catalog_id,
            name: header.name,
            format,
            strict: header.strict,
            replace: header.replace,
            overrides_json: header.attribute_overrides_json,
            total_bytes: (header.total_bytes > 0).then_some(header.total_bytes),
        };
        let mut upload = self.catalogs.begin_import(spec)?;
        while let Some(message) = stream.message().await? {
            match message.part {
                Some(pb::import_catalog_request::Part::Chunk(chunk)) => upload.append(&chunk)?,
                _ => {
                    return Err(status::bad_request(
                        "only the first message of an import may be a header",
                    ));
                }
            }
        }
        let imported = self.catalogs.import(upload).await?;
        Ok(Response::new(pb::ImportCatalogResponse {
            catalog: Some(catalog_info(&imported.record)),
            row_errors: imported
                .errors
                .iter()
                .map(|error| pb::RowError {
                    line: error.line,
                    message: error.message.clone(),
                })
                .collect(),
            row_error_count: imported.error_count,
            replaced: imported.replaced,
        }))
    }

    async fn list_catalogs(
        &self,
        request: Request<pb::ListCatalogsRequest>,
    ) -> Result<Response<pb::ListCatalogsResponse>, Status> {
        self.gate.scoped(&request, Scope::Read, "listing catalogs")?;
        let request = request.into_inner();
        let (records, next_page_token) = paging::page(
            "catalogs",
            self.catalogs.list()?,
            |record| record.id.as_str(),
            request.page_size,
            &request.page_token,
        )?;
        Ok(Response::new(pb::ListCatalogsResponse {
            catalogs: records.iter().map(catalog_info).collect(),
            next_page_token,
        }))
    }

    async fn get_catalog(
        &self,
        request: Request<pb::GetCatalogRequest>,
    ) -> Result<Response<pb::GetCatalogResponse>, Status> {
        self.gate.scoped(&request, Scope::Read, "reading a catalog")?;
        let record = self.catalogs.get(&request.into_inner().catalog_id)?;
        Ok(Response::new(pb::GetCatalogResponse {
            catalog: Some(catalog_info(&record)),
        }))
    }

    async fn list_catalog_items(
        &self,
        request: Request<pb::ListCatalogItemsRequest>,
    ) -> Result<Response<pb::ListCatalogItemsResponse>, Status> {
        self.gate.scoped(&request, Scope::Read, "reading a catalog's items")?;
        let request = request.into_inner();
        let size = paging::page_size(request.page_size)?;
        let record = self.catalogs.get(&request.catalog_id)?;
        // A token names the import it was made for: another import renumbers the items.
        let list = format!("items of {}@{}", record.id, record.imported_at_unix_ms);
        let offset = match paging::after(&list, &request.page_token)? {
            None => 0,
            Some(offset) => offset
                .parse::<u32>()
                .map_err(|_| status::bad_field("page_token", "page_token is damaged; start over without one"))?,
        };
        let items = self.catalogs.items(&record.id, offset, size as u32)?;
        let next = offset as u64 + items.len() as u64;
        let next_page_token = if next < record.item_count && !items.is_empty() {
            paging::token(&list, &next.to_string())
        } else {
            String::new()
        };
        Ok(Response::new(pb::ListCatalogItemsResponse {
            items: items.into_iter().map(catalog_item).collect(),
            next_page_token,
            total_items: record.item_count,
        }))
    }

    async fn remove_catalog(
        &self,
        request: Request<pb::RemoveCatalogRequest>,
    ) -> Result<Response<pb::RemoveCatalogResponse>, Status> {
        self.gate.admin(&request, "removing a catalog")?;
        let record = self.catalogs.remove(&request.into_inner().catalog_id).await?;
        Ok(Response::new(pb::RemoveCatalogResponse {
            catalog: Some(catalog_info(&record)),
        }))
    }
}
