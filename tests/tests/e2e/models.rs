//! ChoiceModelService end to end: a catalog and simulated shopper visits uploaded in chunks, the
//! fit streamed with progress, the stored model with provenance across a restart, `Optimize`
//! equal to the library run on the same data, the `assortment` plugin equal to `Optimize`, and
//! every refusal with its status code.

use interarec_choice::model::ChoiceModel;
use interarec_choice::recommend::{Constraints, recommend};
use interarec_client::{CatalogFormat, ClientError, FitHeader, ImportHeader, OptimizeRequest, TransactionFormat};
use interarec_core::catalog::{CatalogFormat as CoreFormat, parse_catalog};
use interarec_tests::fixtures::{SEGMENT_BETAS, catalog_csv, fashion_items, transactions_csv};
use interarec_tests::{TestServer, grant, limits, plugin};
use tonic::Code;

fn fit_header(id: &str, format: TransactionFormat, segment_by: &str) -> FitHeader {
    FitHeader {
        model_id: id.into(),
        catalog_id: "fashion".into(),
        format: format as i32,
        segment_by: segment_by.into(),
        no_purchase_share: 0.3,
        min_segment_choices: 100,
        max_iterations: 0,
        replace: false,
    }
}

fn status(result: Result<impl std::fmt::Debug, ClientError>) -> (Code, String) {
    match result {
        Err(ClientError::Status(status)) => (status.code(), status.message().to_owned()),
        other => panic!("expected a status, got {other:?}"),
    }
}

fn optimize_request(model: &str, segment: &str, constraints: &str) -> OptimizeRequest {
    OptimizeRequest {
        catalog_id: "fashion".into(),
        model_id: model.into(),
        segment: segment.into(),
        constraints_json: constraints.into(),
    }
}

#[tokio::test]
async fn fit_store_optimize_restart() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let items = fashion_items(40, 11);
    let catalog = catalog_csv(&items);
    client
        .import_catalog(
            ImportHeader {
                catalog_id: "fashion".into(),
                name: "Fashion".into(),
                format: CatalogFormat::Csv as i32,
                strict: true,
                replace: false,
                attribute_overrides_json: String::new(),
                total_bytes: 0,
            },
            catalog.as_bytes(),
            4096,
        )
        .await
        .unwrap();

    let transactions = transactions_csv(&items, 6_000, 6, 5);
    let mut stages = Vec::new();
    let info = client
        .fit_choice_model(
            fit_header("fashion-mnl", TransactionFormat::TransactionsCsv, "age"),
            transactions.as_bytes(),
            64 * 1024,
            |p| stages.push(p.stage.clone()),
        )
        .await
        .unwrap();
    // Progress arrives in order: upload received, log read, then per segment start … done.
    stages.dedup();
    assert_eq!(
        stages,
        [
            "received",
            "read",
            "segment-started",
            "iteration",
            "segment-done",
            "segment-started",
            "iteration",
            "segment-done",
            "segment-started",
            "iteration",
            "segment-done"
        ]
    );
    let provenance = info.provenance.clone().unwrap();
    assert_eq!(provenance.source, "transactions-csv");
    assert_eq!(provenance.data_bytes, transactions.len() as u64);
    assert_eq!(provenance.segment_by, "age");
    assert!(provenance.outside_option.contains("no-purchase share 0.3"));
    let segments: Vec<&str> = info.segments.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(segments, ["all", "old", "young"]);
    // Each segment recovers its own price sensitivity (within 4 standard errors).
    for (name, truth) in SEGMENT_BETAS {
        let segment = info.segments.iter().find(|s| s.name == name).unwrap();
        assert!(
            segment.converged && segment.items + segment.unidentified_items == 40,
            "{segment:?}"
        );
        let z = (segment.price_coefficient - truth) / segment.price_standard_error;
        assert!(z.abs() < 4.0, "{name}: β {} vs {truth}", segment.price_coefficient);
    }

    // The RPC answer is the library's answer on the same catalog and model.
    let stored = client.get_choice_model("fashion-mnl", true).await.unwrap();
    let model: ChoiceModel = serde_json::from_str(&stored.model_json).unwrap();
    let catalog_items = parse_catalog(CoreFormat::Csv, catalog.as_bytes(), &Default::default(), true)
        .unwrap()
        .items;
    let cases = [
        ("", r#"{}"#),
        (
            "young",
            r#"{"lowest_price": 18, "highest_price": 144, "filters": [{"attribute": "colour", "one_of": ["green"]}]}"#,
        ),
        (
            "old",
            r#"{"capacity": 3, "max_per_value": {"attribute": "brand", "max": 1}}"#,
        ),
        (
            "old",
            r#"{"capacity": 4, "exactly": true, "exclude": ["d0", "d1"], "must_include": ["d2"]}"#,
        ),
    ];
    for (segment, constraints) in cases {
        let answer = client
            .optimize(optimize_request("fashion-mnl", segment, constraints))
            .await
            .unwrap();
        let parsed: Constraints = serde_json::from_str(constraints).unwrap();
        let expected = recommend(&catalog_items, &model, Some(segment), &parsed).unwrap();
        let ids: Vec<&str> = answer.items.iter().map(|i| i.id.as_str()).collect();
        let expected_ids: Vec<&str> = expected.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, expected_ids, "{constraints}");
        assert_eq!(answer.expected_revenue, expected.expected_revenue, "{constraints}");
        assert!(answer.certificate.unwrap().holds);
        assert!(!ids.is_empty());
        assert_eq!(answer.segment, if segment.is_empty() { "all" } else { segment });
    }

    // Refusals, each with its code and a message that says what to do.
    let refusals: Vec<(OptimizeRequest, Code, &str)> = vec![
        (
            OptimizeRequest {
                catalog_id: "nope".into(),
                ..optimize_request("fashion-mnl", "", "{}")
            },
            Code::NotFound,
            "no catalog `nope`",
        ),
        (
            optimize_request("nope", "", "{}"),
            Code::NotFound,
            "no choice model `nope`",
        ),
        (
            optimize_request("fashion-mnl", "teens", "{}"),
            Code::NotFound,
            "no segment `teens`",
        ),
        (
            optimize_request("fashion-mnl", "", "{\"colour\": 1}"),
            Code::InvalidArgument,
            "unknown field `colour`",
        ),
        (
            optimize_request("fashion-mnl", "", "not json"),
            Code::InvalidArgument,
            "the constraints are not valid",
        ),
        (
            optimize_request("fashion-mnl", "", r#"{"lowest_price": 90, "highest_price": 10}"#),
            Code::InvalidArgument,
            "swap them",
        ),
        (
            optimize_request(
                "fashion-mnl",
                "",
                r#"{"filters": [{"attribute": "size", "equals": "M"}]}"#,
            ),
            Code::InvalidArgument,
            "no item has the attribute `size`",
        ),
    ];
    for (request, code, text) in refusals {
        let (got, message) = status(client.optimize(request.clone()).await);
        assert_eq!(got, code, "{request:?}: {message}");
        assert!(message.contains(text), "{message}");
    }
    let empty = client
        .optimize(optimize_request("fashion-mnl", "", r#"{"lowest_price": 500}"#))
        .await
        .unwrap();
    assert!(empty.items.is_empty());
    assert!(
        empty.empty_reason.contains("the price range 500–any"),
        "{}",
        empty.empty_reason
    );

    let fit_refusals: Vec<(FitHeader, &str, Code, &str)> = vec![
        (
            fit_header("fashion-mnl", TransactionFormat::TransactionsCsv, ""),
            "item_id,price\na,1\n",
            Code::AlreadyExists,
            "already exists; pass replace",
        ),
        (
            fit_header("Bad Id", TransactionFormat::TransactionsCsv, ""),
            "item_id,price\na,1\n",
            Code::InvalidArgument,
            "model id `Bad Id` is invalid",
        ),
        (
            fit_header("m2", TransactionFormat::Unspecified, ""),
            "item_id,price\na,1\n",
            Code::InvalidArgument,
            "needs a format",
        ),
        (
            fit_header("m2", TransactionFormat::TransactionsCsv, ""),
            "id,cost\n1,2\n",
            Code::InvalidArgument,
            "lacks `item_id` or `price`",
        ),
        (
            fit_header("m2", TransactionFormat::TransactionsCsv, "store"),
            "item_id,price\na,1\n",
            Code::InvalidArgument,
            "no column `store`",
        ),
        (
            fit_header("m2", TransactionFormat::TaFeng, ""),
            "item_id,price\na,1\n",
            Code::InvalidArgument,
            "not the expected data set",
        ),
        (
            fit_header("m2", TransactionFormat::TransactionsCsv, ""),
            "item_id,price\na,1\na,2\n",
            Code::FailedPrecondition,
            "the fit on every customer failed",
        ),
        (
            FitHeader {
                catalog_id: "nope".into(),
                ..fit_header("m2", TransactionFormat::TransactionsCsv, "")
            },
            "item_id,price\na,1\n",
            Code::NotFound,
            "no catalog `nope`",
        ),
        (
            FitHeader {
                no_purchase_share: 1.5,
                ..fit_header("m2", TransactionFormat::TransactionsCsv, "")
            },
            "item_id,price\na,1\n",
            Code::InvalidArgument,
            "strictly between 0 and 1",
        ),
    ];
    for (header, data, code, text) in fit_refusals {
        let (got, message) = status(
            client
                .fit_choice_model(header.clone(), data.as_bytes(), 1024, |_| {})
                .await,
        );
        assert_eq!(got, code, "{header:?}: {message}");
        assert!(message.contains(text), "{header:?}: {message}");
    }
    assert_eq!(
        client.list_choice_models().await.unwrap().len(),
        1,
        "refused fits store nothing"
    );

    // The model survives a restart, and removal takes it away.
    let server = server.restart().await;
    let mut client = server.client().await;
    let again = client.get_choice_model("fashion-mnl", false).await.unwrap();
    assert_eq!(again.segments, info.segments);
    assert!(again.model_json.is_empty(), "parameters only on request");
    let answer = client
        .optimize(optimize_request("fashion-mnl", "", "{}"))
        .await
        .unwrap();
    assert!(!answer.items.is_empty());
    client.remove_choice_model("fashion-mnl").await.unwrap();
    let (code, _) = status(client.get_choice_model("fashion-mnl", false).await);
    assert_eq!(code, Code::NotFound);
}

#[tokio::test]
async fn fitting_and_removing_need_the_admin_token_when_one_is_set() {
    let server = TestServer::start_with(|config| config.admin_token = Some("s3cret-admin-token-42".into())).await;
    let mut anonymous = server.client().await;
    let (code, message) = status(
        anonymous
            .fit_choice_model(
                fit_header("m", TransactionFormat::TransactionsCsv, ""),
                b"item_id,price\na,1\n",
                1024,
                |_| {},
            )
            .await,
    );
    assert_eq!(code, Code::Unauthenticated, "{message}");
    let (code, _) = status(anonymous.remove_choice_model("m").await);
    assert_eq!(code, Code::Unauthenticated);
    // Reading needs no token.
    assert!(anonymous.list_choice_models().await.unwrap().is_empty());
}

/// Imports a fixture catalog of `n` items and fits a model on simulated visits.
async fn catalog_and_model(client: &mut interarec_client::Client, n: usize) {
    let items = fashion_items(n, 3);
    let header = ImportHeader {
        catalog_id: "fashion".into(),
        name: "Fashion".into(),
        format: CatalogFormat::Csv as i32,
        strict: true,
        replace: false,
        attribute_overrides_json: String::new(),
        total_bytes: 0,
    };
    client
        .import_catalog(header, catalog_csv(&items).as_bytes(), 1 << 20)
        .await
        .unwrap();
    let transactions = transactions_csv(&items, 10 * n, 8, 9);
    client
        .fit_choice_model(
            fit_header("fashion-mnl", TransactionFormat::TransactionsCsv, "age"),
            transactions.as_bytes(),
            1 << 20,
            |_| {},
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn the_assortment_plugin_answers_like_optimize() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    // Over two pages of the catalog capability (1,000 items a page).
    catalog_and_model(&mut client, 2_300).await;
    client
        .register_tool(plugin("assortment"), vec![grant("catalog")], limits(0, 256), false)
        .await
        .unwrap();
    let cases = [
        ("", serde_json::json!({})),
        (
            "young",
            serde_json::json!({"lowest_price": 18, "highest_price": 144, "filters": [{"attribute": "colour", "one_of": ["green"]}], "capacity": 5}),
        ),
        (
            "old",
            serde_json::json!({"capacity": 6, "max_per_value": {"attribute": "brand", "max": 2}, "exclude": ["d7"]}),
        ),
        ("", serde_json::json!({"lowest_price": 1000})),
    ];
    for (segment, constraints) in cases {
        let arguments = serde_json::json!({
            "catalog_id": "fashion", "model_id": "fashion-mnl", "segment": segment, "constraints": constraints
        });
        let response = client
            .invoke_tool("assortment", &arguments.to_string(), "")
            .await
            .unwrap();
        let from_plugin: serde_json::Value = serde_json::from_str(&response.result_json).unwrap();
        let direct = client
            .optimize(optimize_request("fashion-mnl", segment, &constraints.to_string()))
            .await
            .unwrap();
        let plugin_ids: Vec<&str> = from_plugin["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap())
            .collect();
        let direct_ids: Vec<&str> = direct.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(plugin_ids, direct_ids, "{constraints}");
        assert_eq!(
            from_plugin["expected_revenue"].as_f64().unwrap(),
            direct.expected_revenue,
            "{constraints}"
        );
        assert_eq!(from_plugin["catalog_items"], 2_300);
        assert_eq!(from_plugin["empty_reason"].as_str().unwrap_or(""), direct.empty_reason);
        assert!(from_plugin["timings"]["compute_ms"].as_f64().unwrap() >= 0.0);
    }
    // Mistakes come back as the tool's invalid-arguments error, naming the problem.
    let refusals = [
        (
            serde_json::json!({"catalog_id": "fashion", "model_id": "nope"}),
            "there is no choice model `nope`",
        ),
        (
            serde_json::json!({"catalog_id": "nope", "model_id": "fashion-mnl"}),
            "there is no catalog `nope`",
        ),
        (
            serde_json::json!({"catalog_id": "fashion", "model_id": "fashion-mnl", "segment": "teens"}),
            "no segment `teens`",
        ),
        (
            serde_json::json!({"catalog_id": "fashion", "model_id": "fashion-mnl", "constraints": {"capacity": 0}}),
            "capacity",
        ),
    ];
    for (arguments, text) in refusals {
        let (code, message) = status(client.invoke_tool("assortment", &arguments.to_string(), "").await);
        assert_eq!(code, Code::InvalidArgument, "{arguments}: {message}");
        assert!(message.contains(text), "{arguments}: {message}");
    }
    // Without the catalog grant the tool cannot read anything.
    client.remove_tool("assortment").await.unwrap();
    client
        .register_tool(plugin("assortment"), vec![], limits(0, 0), false)
        .await
        .unwrap();
    let arguments = serde_json::json!({"catalog_id": "fashion", "model_id": "fashion-mnl"});
    let (code, message) = status(client.invoke_tool("assortment", &arguments.to_string(), "").await);
    assert_eq!(code, Code::PermissionDenied, "{message}");
    assert!(message.contains("catalog"), "{message}");
}

/// Components built against WIT 0.1.0 (JSON pages) run beside 0.1.1 ones (columns) on one
/// host; a re-imported catalog and a replaced or removed model reach the columnar path at once.
#[tokio::test]
async fn both_wit_versions_read_catalogs_and_the_host_cache_follows_changes() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    catalog_and_model(&mut client, 2_300).await;
    let old = client
        .register_tool(
            plugin("guest_wit_0_1_0"),
            vec![grant("catalog"), grant("kv")],
            limits(0, 256),
            false,
        )
        .await
        .unwrap()
        .tool
        .unwrap();
    let new = client
        .register_tool(plugin("assortment"), vec![grant("catalog")], limits(0, 256), false)
        .await
        .unwrap()
        .tool
        .unwrap();
    assert_eq!((old.wit_version.as_str(), new.wit_version.as_str()), ("0.1.0", "0.1.1"));
    let arguments = serde_json::json!({"catalog_id": "fashion", "model_id": "fashion-mnl"}).to_string();
    for calls in 1..=2 {
        let answer = client.invoke_tool("wit-zero-one-zero", &arguments, "").await.unwrap();
        let answer: serde_json::Value = serde_json::from_str(&answer.result_json).unwrap();
        assert_eq!(answer["items"], 2_300, "{answer}");
        assert_eq!(answer["item_count"], 2_300, "{answer}");
        assert_eq!(answer["segments"], 3, "{answer}");
        assert_eq!(answer["calls"], calls, "{answer}");
    }
    let recommend = |constraints: serde_json::Value| {
        serde_json::json!({"catalog_id": "fashion", "model_id": "fashion-mnl", "constraints": constraints}).to_string()
    };
    let first = client
        .invoke_tool("assortment", &recommend(serde_json::json!({})), "")
        .await
        .unwrap();
    let first: serde_json::Value = serde_json::from_str(&first.result_json).unwrap();
    assert_eq!(first["catalog_items"], 2_300);

    // A smaller catalog under the same id: the next call sees it.
    let smaller = fashion_items(500, 3);
    let header = ImportHeader {
        catalog_id: "fashion".into(),
        name: "Fashion".into(),
        format: CatalogFormat::Csv as i32,
        strict: true,
        replace: true,
        attribute_overrides_json: String::new(),
        total_bytes: 0,
    };
    client
        .import_catalog(header, catalog_csv(&smaller).as_bytes(), 1 << 20)
        .await
        .unwrap();
    let second = client
        .invoke_tool("assortment", &recommend(serde_json::json!({})), "")
        .await
        .unwrap();
    let second: serde_json::Value = serde_json::from_str(&second.result_json).unwrap();
    assert_eq!(second["catalog_items"], 500, "{second}");
    let direct = client
        .optimize(optimize_request("fashion-mnl", "", "{}"))
        .await
        .unwrap();
    let ids = |answer: &serde_json::Value| -> Vec<String> {
        answer["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ids(&second),
        direct.items.iter().map(|i| i.id.clone()).collect::<Vec<_>>()
    );

    // A removed model is gone for the plugin too.
    client.remove_choice_model("fashion-mnl").await.unwrap();
    let (code, message) = status(
        client
            .invoke_tool("assortment", &recommend(serde_json::json!({})), "")
            .await,
    );
    assert_eq!(code, Code::InvalidArgument, "{message}");
    assert!(message.contains("there is no choice model `fashion-mnl`"), "{message}");
}
