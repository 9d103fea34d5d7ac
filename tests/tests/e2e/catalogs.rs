//! CatalogService end to end: chunked import with bad rows reported by line, schema and
//! vocabularies, strict refusal, the replace rule, persistence across restart, removal.

use interarec_client::{CatalogFormat, ClientError, ImportHeader};
use interarec_tests::TestServer;
use tonic::Code;

const FOOTWEAR: &str = "id,title,price,brand,colour,gender,best_for,rating\n\
s1,Runner One,120,Nike,black,men,running,4.5\n\
s2,Court Classic,95.5,Adidas,white,women,tennis,4.1\n\
s3,Trail Pro,,Salomon,green,men,trail,4.8\n\
s4,Sale Sneaker,59,Nike,red,women,lifestyle,3.9\n\
s5,Free Shoe,-5,Nike,blue,men,running,4.0\n\
s6,Bad Rating,80,Puma,black,men,running,\n";

fn header(id: &str, format: CatalogFormat, strict: bool, replace: bool) -> ImportHeader {
    ImportHeader {
        catalog_id: id.into(),
        name: format!("{id} shop"),
        format: format as i32,
        strict,
        replace,
        attribute_overrides_json: r#"{"rating":{"unit":"stars"}}"#.into(),
        total_bytes: 0,
    }
}

fn status(result: Result<impl std::fmt::Debug, ClientError>) -> (Code, String) {
    match result {
        Err(ClientError::Status(status)) => (status.code(), status.message().to_owned()),
        other => panic!("expected a status, got {other:?}"),
    }
}

#[tokio::test]
async fn import_describe_replace_restart_remove() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    // 7-byte chunks: rows are split across messages and must be reassembled.
    let imported = client
        .import_catalog(
            header("shoes", CatalogFormat::Csv, false, false),
            FOOTWEAR.as_bytes(),
            7,
        )
        .await
        .unwrap();
    let catalog = imported.catalog.unwrap();
    assert_eq!(
        (catalog.item_count, catalog.price_min, catalog.price_max),
        (4, 59.0, 120.0)
    );
    let errors: Vec<(u64, &str)> = imported
        .row_errors
        .iter()
        .map(|e| (e.line, e.message.as_str()))
        .collect();
    assert_eq!(
        errors,
        [(4, "item `s3`: missing price"), (6, "item `s5`: price -5 is negative")]
    );
    assert_eq!(imported.row_error_count, 2);
    let brand = catalog.attributes.iter().find(|a| a.name == "brand").unwrap();
    assert_eq!(
        (brand.r#type().name(), brand.vocabulary.clone()),
        ("text", vec!["Adidas".to_owned(), "Nike".into(), "Puma".into()])
    );
    let rating = catalog.attributes.iter().find(|a| a.name == "rating").unwrap();
    assert_eq!(
        (rating.r#type().name(), rating.unit.as_str(), rating.min, rating.max),
        ("number", "stars", Some(3.9), Some(4.5))
    );
    assert_eq!(rating.present, 3, "s6 has no rating");

    // Strict refuses the file whole; an existing id needs replace.
    let (code, message) = status(
        client
            .import_catalog(
                header("strict", CatalogFormat::Csv, true, false),
                FOOTWEAR.as_bytes(),
                1 << 20,
            )
            .await,
    );
    assert_eq!(code, Code::InvalidArgument);
    assert_eq!(
        message,
        "strict import refused: 2 bad row(s), the first at line 4: item `s3`: missing price"
    );
    let (code, message) = status(
        client
            .import_catalog(
                header("shoes", CatalogFormat::Csv, false, false),
                FOOTWEAR.as_bytes(),
                1 << 20,
            )
            .await,
    );
    assert_eq!(code, Code::AlreadyExists);
    assert_eq!(
        message,
        "catalog `shoes` already exists; pass replace (`--replace`) to overwrite it"
    );
    let jsonl = "{\"id\":\"h1\",\"title\":\"House\",\"price\":1350000,\"city\":\"Pacifica\",\"bedrooms\":3}\n";
    let replaced = client
        .import_catalog(
            header("shoes", CatalogFormat::Jsonl, false, true),
            jsonl.as_bytes(),
            1 << 20,
        )
        .await
        .unwrap();
    assert!(replaced.replaced);
    assert_eq!(replaced.catalog.unwrap().item_count, 1);

    for (id, format, fragment) in [
        ("Bad Id", CatalogFormat::Csv, "catalog id `Bad Id` is invalid"),
        ("empty", CatalogFormat::Csv, "no valid item in the input"),
        (
            "noformat",
            CatalogFormat::Unspecified,
            "the import header needs a format: CSV or JSONL",
        ),
    ] {
        let data = if id == "empty" { "id,title,price\n" } else { FOOTWEAR };
        let (code, message) = status(
            client
                .import_catalog(header(id, format, false, false), data.as_bytes(), 1 << 20)
                .await,
        );
        assert_eq!(code, Code::InvalidArgument, "{message}");
        assert!(message.contains(fragment), "{message}");
    }

    let server = server.restart().await;
    let mut client = server.client().await;
    let listed: Vec<String> = client
        .list_catalogs()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.catalog_id)
        .collect();
    assert_eq!(listed, ["shoes"]);
    assert_eq!(client.get_catalog("shoes").await.unwrap().item_count, 1);
    client.remove_catalog("shoes").await.unwrap();
    let (code, message) = status(client.get_catalog("shoes").await);
    assert_eq!(
        (code, message.as_str()),
        (
            Code::NotFound,
            "no catalog `shoes`; `interarec catalog list` shows the catalogs"
        )
    );
    server.server.stop().await.unwrap();
}

#[tokio::test]
async fn the_admin_token_guards_catalog_changes() {
    let server = TestServer::start_with(|config| config.admin_token = Some("s3cret-admin-token-42".into())).await;
    let mut anonymous = server.client().await;
    let (code, message) = status(
        anonymous
            .import_catalog(
                header("shoes", CatalogFormat::Csv, false, false),
                FOOTWEAR.as_bytes(),
                1 << 20,
            )
            .await,
    );
    assert_eq!(code, Code::Unauthenticated);
    assert!(
        message.contains("importing a catalog needs the admin token"),
        "{message}"
    );
    let mut admin = server.client_with_token(Some("s3cret-admin-token-42")).await;
    admin
        .import_catalog(
            header("shoes", CatalogFormat::Csv, false, false),
            FOOTWEAR.as_bytes(),
            1 << 20,
        )
        .await
        .unwrap();
    assert_eq!(anonymous.list_catalogs().await.unwrap().len(), 1);
    let (code, _) = status(anonymous.remove_catalog("shoes").await);
    assert_eq!(code, Code::Unauthenticated);
    server.server.stop().await.unwrap();
}

#[tokio::test]
async fn a_file_streams_in_and_a_refused_replacement_keeps_the_catalog_whole() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let dir = tempfile::tempdir().unwrap();
    let rows = 30_000;
    let mut csv = String::from("id,title,price,colour,size\n");
    for row in 0..rows {
        csv.push_str(&format!(
            "p{row},Product {row},{}.25,{},S|M\n",
            1 + row % 500,
            ["red", "blue", "green"][row % 3]
        ));
    }
    let path = dir.path().join("large.csv");
    std::fs::write(&path, &csv).unwrap();
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let heard = sent.clone();
    let chunk = 64 << 10;
    let imported = client
        .import_catalog_file(
            header("large", CatalogFormat::Csv, true, false),
            &path,
            chunk,
            move |sent, of| heard.lock().unwrap().push((sent, of)),
        )
        .await
        .unwrap();
    let catalog = imported.catalog.unwrap();
    assert_eq!(
        (catalog.item_count, catalog.price_min, catalog.price_max),
        (rows as u64, 1.25, 500.25)
    );
    let size = csv.len() as u64;
    let sent = sent.lock().unwrap().clone();
    assert_eq!(sent.len() as u64, size.div_ceil(chunk as u64), "one report per chunk");
    assert!(sent.windows(2).all(|pair| pair[0].0 < pair[1].0) && sent.iter().all(|&(_, of)| of == size));
    assert_eq!(sent.last(), Some(&(size, size)));

    // A strict replacement whose last row is bad is refused after its items were stored: the
    // catalog stays the one before, and the spooled upload is gone.
    let bad = format!("{csv}p-last,Last,not-a-price,red,S\n");
    std::fs::write(&path, &bad).unwrap();
    let (code, message) = status(
        client
            .import_catalog_file(header("large", CatalogFormat::Csv, true, true), &path, chunk, |_, _| {})
            .await,
    );
    assert_eq!(code, Code::InvalidArgument);
    assert!(
        message.starts_with("strict import refused: 1 bad row(s), the first at line 30002"),
        "{message}"
    );
    let kept = client.get_catalog("large").await.unwrap();
    assert_eq!(
        (
            kept.item_count,
            interarec_client::convert::unix_ms(kept.imported_at.as_ref())
        ),
        (
            rows as u64,
            interarec_client::convert::unix_ms(catalog.imported_at.as_ref())
        )
    );
    let spooled: Vec<_> = std::fs::read_dir(server.data_dir().join("imports")).unwrap().collect();
    assert!(spooled.is_empty(), "{spooled:?}");

    // A file cut short while it is sent is refused by the client, and the server, whose upload
    // ended short of the size its header announced, imports nothing.
    let shrinking = dir.path().join("shrinking.csv");
    std::fs::write(&shrinking, &csv).unwrap();
    let victim = shrinking.clone();
    let cut = move |sent: u64, _| {
        if sent == chunk as u64 {
            let file = std::fs::OpenOptions::new().write(true).open(&victim).unwrap();
            file.set_len(sent).unwrap();
        }
    };
    match client
        .import_catalog_file(
            header("shrinking", CatalogFormat::Csv, false, false),
            &shrinking,
            chunk,
            cut,
        )
        .await
    {
        Err(ClientError::Input(message)) => assert!(message.contains("changed while it was sent"), "{message}"),
        other => panic!("expected an input error, got {other:?}"),
    }
    // An import of what had arrived would take milliseconds; give it ample time to show.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let (code, _) = status(client.get_catalog("shrinking").await);
    assert_eq!(code, Code::NotFound);

    // A file that cannot be read is the client's error, named.
    let missing = dir.path().join("missing.csv");
    match client
        .import_catalog_file(
            header("other", CatalogFormat::Csv, false, false),
            &missing,
            chunk,
            |_, _| {},
        )
        .await
    {
        Err(ClientError::Input(message)) => assert!(message.contains("missing.csv"), "{message}"),
        other => panic!("expected an input error, got {other:?}"),
    }
    server.server.stop().await.unwrap();
}
