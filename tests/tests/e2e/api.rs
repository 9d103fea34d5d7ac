//! The API's conventions over a real server: List RPCs in pages with opaque tokens (a token of
//! another list, or of a catalog imported since, refused naming `page_token`), a catalog's items
//! a page at a time, google.rpc details on errors (a stable `ErrorInfo` reason, `BadRequest`
//! field violations down to a path in a tool's arguments), and enums refused when unknown.

use interarec_demo_shop::catalog::Domain;
use interarec_proto::v1 as pb;
use interarec_tests::{TestServer, pipeline};
use std::collections::BTreeSet;
use tonic::Code;
use tonic_types::StatusExt;

/// The reason and the fields a status names (its google.rpc details).
fn details(status: &tonic::Status) -> (String, Vec<String>) {
    let details = status.get_error_details();
    let reason = details.error_info().map(|info| info.reason.clone()).unwrap_or_default();
    let fields = details
        .bad_request()
        .map(|bad| bad.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default();
    (reason, fields)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_page_with_tokens_and_errors_carry_their_reason_and_fields() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    pipeline::register_tools(&mut client, &["capture", "validate", "assortment"])
        .await
        .unwrap();
    client
        .register_tool(
            interarec_tests::plugin("echo"),
            vec![interarec_tests::grant("kv")],
            interarec_tests::limits(0, 0),
            false,
        )
        .await
        .unwrap();
    let channel = tonic::transport::Endpoint::from_shared(server.server.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut tools = pb::tool_service_client::ToolServiceClient::new(channel.clone());

    // Two pages of at most three tools, in name order, every tool once.
    let mut names = Vec::new();
    let mut page_token = String::new();
    let mut pages = 0;
    loop {
        let page = tools
            .list_tools(pb::ListToolsRequest {
                page_size: 3,
                page_token,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.tools.len() <= 3);
        names.extend(page.tools.into_iter().map(|t| t.name));
        pages += 1;
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(
        (pages, names.clone()),
        (
            2,
            vec![
                "assortment".to_owned(),
                "capture".into(),
                "echo".into(),
                "validate".into()
            ]
        )
    );

    // (request, code, reason, fields named)
    let catalogs_token = {
        pipeline::import_demo_shop(&mut client, Domain::Fashion, false)
            .await
            .unwrap();
        let mut catalogs = pb::catalog_service_client::CatalogServiceClient::new(channel.clone());
        let first = catalogs
            .list_catalog_items(pb::ListCatalogItemsRequest {
                catalog_id: "fashion".into(),
                page_size: 50,
                page_token: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        // Every item once, page after page.
        let mut ids: BTreeSet<String> = first.items.iter().map(|i| i.id.clone()).collect();
        let mut token = first.next_page_token.clone();
        while !token.is_empty() {
            let page = catalogs
                .list_catalog_items(pb::ListCatalogItemsRequest {
                    catalog_id: "fashion".into(),
                    page_size: 50,
                    page_token: token,
                })
                .await
                .unwrap()
                .into_inner();
            ids.extend(page.items.iter().map(|i| i.id.clone()));
            token = page.next_page_token;
        }
        assert_eq!(ids.len() as u64, first.total_items);
        let attributes = interarec_proto::convert::from_struct(first.items[0].attributes.as_ref().unwrap());
        assert!(attributes.get("colour").is_some(), "{attributes}");
        first.next_page_token
    };
    let tool_status = tools
        .list_tools(pb::ListToolsRequest {
            page_size: 3,
            page_token: catalogs_token.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(tool_status.code(), Code::InvalidArgument);
    assert_eq!(
        details(&tool_status),
        ("BAD_REQUEST".to_owned(), vec!["page_token".to_owned()])
    );

    // A catalog imported again refuses the tokens of its old items.
    let replaced = {
        let products = interarec_demo_shop::catalog::generate(Domain::Fashion, 7);
        let csv = interarec_demo_shop::catalog::catalog_csv(Domain::Fashion, &products);
        client
            .import_catalog(
                pb::ImportHeader {
                    catalog_id: "fashion".into(),
                    name: "fashion".into(),
                    format: pb::CatalogFormat::Csv as i32,
                    replace: true,
                    ..pb::ImportHeader::default()
                },
                csv.as_bytes(),
                64 * 1024,
            )
            .await
            .unwrap();
        let mut catalogs = pb::catalog_service_client::CatalogServiceClient::new(channel.clone());
        catalogs
            .list_catalog_items(pb::ListCatalogItemsRequest {
                catalog_id: "fashion".into(),
                page_size: 50,
                page_token: catalogs_token,
            })
            .await
            .unwrap_err()
    };
    assert_eq!(details(&replaced).1, ["page_token"], "{replaced:?}");
    assert!(replaced.message().contains("imported again"), "{}", replaced.message());

    // Errors: (status, code, reason, fields).
    let schema = client
        .invoke_tool("echo", r#"{"message": 1, "count": "often"}"#, "")
        .await
        .unwrap_err();
    let unknown = client.invoke_tool("nope", "{}", "").await.unwrap_err();
    let planner = client
        .create_session_with(pb::CreateSessionRequest {
            planner: 7,
            ..pb::CreateSessionRequest::default()
        })
        .await
        .unwrap_err();
    let cases = [
        (
            schema,
            Code::InvalidArgument,
            "ARGUMENTS_DO_NOT_MATCH_SCHEMA",
            vec!["arguments_json.count"],
        ),
        (unknown, Code::NotFound, "TOOL_NOT_FOUND", vec![]),
        (planner, Code::InvalidArgument, "BAD_REQUEST", vec!["planner"]),
    ];
    for (error, code, reason, fields) in cases {
        let interarec_client::ClientError::Status(status) = error else {
            panic!("{reason}: {error}");
        };
        assert_eq!(status.code(), code, "{status:?}");
        assert_eq!(
            details(&status),
            (reason.to_owned(), fields.iter().map(|f| f.to_string()).collect()),
            "{status:?}"
        );
    }
}
