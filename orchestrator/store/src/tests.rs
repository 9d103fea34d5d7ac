//! Store tests on a temp dir: persistence across reopen, schema checks, kv scoping.

use super::*;
use interarec_core::catalog::{CatalogRecord, Item};
use interarec_core::{Grants, ToolLimits, ToolManifest};

fn record(name: &str, component: &[u8]) -> ToolRecord {
    ToolRecord {
        manifest: ToolManifest::from_description(name.into(), "0.1.0".into(), "test".into(), "true", &[]).unwrap(),
        grants: Grants::none(),
        limits: ToolLimits {
            timeout_ms: 1000,
            memory_bytes: 1 << 24,
            fuel: None,
        },
        sha256: hex::encode(Sha256::digest(component)),
        component_size: component.len() as u64,
        wit_version: "0.1.0".into(),
        registered_at_unix_ms: 1,
    }
}

/// Opens the store in `dir`, waiting out the file lock of a handle just dropped: sled's
/// background threads let go of it a moment after the last handle (seen once as `Locked`).
fn reopen(dir: &std::path::Path) -> Store {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match Store::open(dir) {
            Err(StoreError::Locked { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            opened => return opened.unwrap(),
        }
    }
}

/// Where a test's store lives: a temp dir for sled, a database of its own on the PostgreSQL
/// server `INTERAREC_TEST_POSTGRES` names (`just test-postgres` starts one).
enum Place {
    Sled(tempfile::TempDir),
    Postgres(String),
}

impl Place {
    fn sled() -> Place {
        Place::Sled(tempfile::tempdir().unwrap())
    }

    fn postgres() -> Place {
        Place::Postgres(fresh_database())
    }

    /// Opens (again) the store at this place.
    fn open(&self) -> Store {
        match self {
            Place::Sled(dir) => reopen(dir.path()),
            Place::Postgres(url) => Store::open_postgres(url, 2).unwrap(),
        }
    }
}

/// A new database on the test PostgreSQL server.
fn fresh_database() -> String {
    let server = std::env::var("INTERAREC_TEST_POSTGRES")
        .expect("INTERAREC_TEST_POSTGRES names no PostgreSQL server; run these tests with `just test-postgres`");
    let name = format!(
        "store_{}",
        hex::encode(std::process::id().to_be_bytes()) + &hex::encode(rand_bytes())
    );
    crate::postgres::create_database(&server, &name).unwrap()
}

fn rand_bytes() -> [u8; 6] {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    static COUNTER: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    let count = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut bytes = [0u8; 6];
    bytes[..4].copy_from_slice(&(nanos as u32).to_be_bytes());
    bytes[4..].copy_from_slice(&count.to_be_bytes());
    bytes
}

/// One test body, run on sled and (ignored unless PostgreSQL is there: `just test-postgres`
/// runs the ignored ones) on PostgreSQL.
macro_rules! on_both_backends {
    ($name:ident, |$place:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn run($place: &Place) $body

            #[test]
            fn sled() {
                run(&Place::sled())
            }

            #[test]
            #[ignore = "needs PostgreSQL: `just test-postgres` runs it"]
            fn postgres() {
                run(&Place::postgres())
            }
        }
    };
}

#[test]
fn tools_survive_reopen_and_removal_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = reopen(dir.path());
        store
            .put_tool(&record("alpha", b"component-a"), b"component-a")
            .unwrap();
        store.put_tool(&record("beta", b"component-a"), b"component-a").unwrap();
        store
            .put_tool(&record("gamma", b"component-g"), b"component-g")
            .unwrap();
    }
    let store = reopen(dir.path());
    let names: Vec<String> = store
        .list_tools()
        .unwrap()
        .into_iter()
        .map(|t| t.manifest.name)
        .collect();
    assert_eq!(names, ["alpha", "beta", "gamma"]);
    let alpha = store.get_tool("alpha").unwrap().unwrap();
    assert_eq!(store.component_of(&alpha).unwrap(), b"component-a");

    // alpha and beta share a blob: removing one keeps it, removing both drops it.
    store.remove_tool("alpha").unwrap().unwrap();
    let beta = store.get_tool("beta").unwrap().unwrap();
    assert_eq!(store.component_of(&beta).unwrap(), b"component-a");
    store.remove_tool("beta").unwrap().unwrap();
    assert!(matches!(
        store.component_of(&beta),
        Err(StoreError::MissingComponent { .. })
    ));
    assert!(store.remove_tool("beta").unwrap().is_none());
}

#[test]
fn replacing_a_tool_drops_its_old_component() {
    let dir = tempfile::tempdir().unwrap();
    let store = reopen(dir.path());
    let old = record("alpha", b"old");
    store.put_tool(&old, b"old").unwrap();
    store.put_tool(&record("alpha", b"new"), b"new").unwrap();
    assert!(store.component_of(&old).is_err());
    assert_eq!(
        store.component_of(&store.get_tool("alpha").unwrap().unwrap()).unwrap(),
        b"new"
    );
}

#[test]
fn a_different_schema_version_is_refused_not_reset() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = reopen(dir.path());
        store.put_tool(&record("alpha", b"a"), b"a").unwrap();
        store.meta.insert(SCHEMA_VERSION_KEY, 99u32.to_be_bytes()).unwrap();
        store.flush().unwrap();
    }
    let error = Store::open(dir.path()).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("has schema version 99 but this build reads version 1"),
        "{error}"
    );
    // Nothing was reset: the data is still there under the old version marker.
    let db = sled::open(dir.path().join("db")).unwrap();
    assert!(db.open_tree("tools").unwrap().get("alpha").unwrap().is_some());
}

#[test]
fn a_damaged_record_is_reported_with_its_tree_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = reopen(dir.path());
    store.tools.insert("broken", b"{not json".as_slice()).unwrap();
    let error = store.list_tools().unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("record `broken` in tree `tools` does not decode"),
        "{error}"
    );
}

#[test]
fn a_second_open_of_the_same_dir_is_refused_while_the_first_is_live() {
    let dir = tempfile::tempdir().unwrap();
    let _first = reopen(dir.path());
    let error = Store::open(dir.path()).unwrap_err();
    assert!(error.to_string().contains("is in use by another process"), "{error}");
}

on_both_backends!(kv_is_scoped_by_session_and_tool, |place| {
    let store = place.open();
    let a = KvScope::new("s1", "echo");
    let b = KvScope::new("s1", "echo2");
    let c = KvScope::new("s2", "echo");
    store.kv_set(&a, "calls", b"1").unwrap();
    store.kv_set(&a, "calls:x", b"2").unwrap();
    store.kv_set(&b, "calls", b"3").unwrap();
    assert_eq!(store.kv_get(&a, "calls").unwrap().as_deref(), Some(b"1".as_slice()));
    assert_eq!(store.kv_get(&b, "calls").unwrap().as_deref(), Some(b"3".as_slice()));
    assert_eq!(store.kv_get(&c, "calls").unwrap(), None);
    assert_eq!(store.kv_list(&a, "calls").unwrap(), ["calls", "calls:x"]);
    store.kv_delete(&a, "calls").unwrap();
    assert_eq!(store.kv_list(&a, "").unwrap(), ["calls:x"]);
    assert!(
        store
            .kv_set(&a, "", b"x")
            .unwrap_err()
            .to_string()
            .contains("outside the allowed 1..=256")
    );
    let big = vec![0u8; MAX_KV_VALUE_BYTES + 1];
    assert!(
        store
            .kv_set(&a, "k", &big)
            .unwrap_err()
            .to_string()
            .contains("over the 1048576-byte limit")
    );
});

on_both_backends!(catalogs_store_items_in_order_and_replace_cleanly, |place| {
    use interarec_core::catalog::{CatalogFormat, parse_catalog};
    let import = |text: &str| parse_catalog(CatalogFormat::Csv, text.as_bytes(), &Default::default(), false).unwrap();
    let long = import("id,title,price\na,A,1\nb,B,2\nc,C,3\n");
    let short = import("id,title,price\nz,Z,9\n");
    {
        let store = place.open();
        store
            .put_catalog(
                &CatalogRecord::new("shop".into(), "Shop".into(), &long.summary(), 1),
                &long.items,
            )
            .unwrap();
        store
            .put_catalog(
                &CatalogRecord::new("other".into(), "Other".into(), &short.summary(), 1),
                &short.items,
            )
            .unwrap();
    }
    let store = place.open();
    let ids = |items: Vec<Item>| items.into_iter().map(|i| i.id).collect::<Vec<_>>();
    assert_eq!(ids(store.catalog_items("shop", 0, 10).unwrap()), ["a", "b", "c"]);
    assert_eq!(ids(store.catalog_items("shop", 1, 1).unwrap()), ["b"]);
    assert_eq!(ids(store.all_catalog_items("shop").unwrap()), ["a", "b", "c"]);
    assert_eq!(store.get_catalog("shop").unwrap().unwrap().price_max, 3.0);
    // Replacing with fewer items leaves none of the old ones behind.
    store
        .put_catalog(
            &CatalogRecord::new("shop".into(), "Shop".into(), &short.summary(), 2),
            &short.items,
        )
        .unwrap();
    assert_eq!(ids(store.catalog_items("shop", 0, 10).unwrap()), ["z"]);
    assert_eq!(store.list_catalogs().unwrap().len(), 2);
    assert!(store.remove_catalog("shop").unwrap().is_some());
    assert!(store.catalog_items("shop", 0, 10).unwrap().is_empty());
    assert_eq!(
        ids(store.catalog_items("other", 0, 10).unwrap()),
        ["z"],
        "other catalogs untouched"
    );
});

#[test]
fn content_nothing_points_at_is_invisible_and_swept() {
    use interarec_core::catalog::{CatalogFormat, parse_catalog};
    let dir = tempfile::tempdir().unwrap();
    let import = |text: &str| parse_catalog(CatalogFormat::Csv, text.as_bytes(), &Default::default(), false).unwrap();
    let first = import("id,title,price\na,A,1\nb,B,2\n");
    let second = import("id,title,price\nc,C,3\n");
    let item_json = |id: &str| format!(r#"{{"id":"{id}","title":"{id}","price":1.0,"attributes":{{}}}}"#);
    {
        let store = reopen(dir.path());
        store
            .put_catalog(
                &CatalogRecord::new("shop".into(), "Shop".into(), &first.summary(), 1),
                &first.items,
            )
            .unwrap();
        // What crashes leave: the next import's items written without its record, items past
        // the record's count, and a component without its tool.
        for (generation, position, id) in [(2, 0, "x"), (2, 5, "y"), (1, 2, "past-the-end")] {
            store
                .catalog_item_sets
                .insert(
                    keys::item_set_item("shop", generation, position),
                    item_json(id).as_bytes(),
                )
                .unwrap();
        }
        store.components.insert([7u8; 32], b"orphan".as_slice()).unwrap();
        store.flush().unwrap();
    }
    let store = reopen(dir.path());
    let ids = |items: Vec<Item>| items.into_iter().map(|i| i.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.all_catalog_items("shop").unwrap()),
        ["a", "b"],
        "only the record's items"
    );
    let mut each = Vec::new();
    store.for_each_catalog_item("shop", |item| each.push(item.id)).unwrap();
    assert_eq!(each, ["a", "b"], "read in pages, the same items");
    assert!(
        store.components.get([7u8; 32]).unwrap().is_none(),
        "orphan component swept at open"
    );
    store
        .put_catalog(
            &CatalogRecord::new("shop".into(), "Shop".into(), &second.summary(), 2),
            &second.items,
        )
        .unwrap();
    assert_eq!(ids(store.all_catalog_items("shop").unwrap()), ["c"]);
    let left: Vec<u64> = store
        .catalog_item_sets
        .iter()
        .keys()
        .map(|key| keys::item_set_generation_of(&key.unwrap()).unwrap())
        .collect();
    assert_eq!(left, [2], "one item set, the record's");
    assert_eq!(store.get_catalog("shop").unwrap().unwrap().generation, 2);
}

on_both_backends!(a_catalog_written_item_by_item_shows_only_when_committed, |place| {
    use interarec_core::catalog::{CatalogFormat, parse_catalog};
    let store = place.open();
    let import = |text: &str| parse_catalog(CatalogFormat::Csv, text.as_bytes(), &Default::default(), false).unwrap();
    let first = import(
        "id,title,price
a,A,1
b,B,2
",
    );
    let second = import(
        "id,title,price
c,C,3
d,D,4
e,E,5
",
    );
    let record = |parsed: &interarec_core::catalog::ParsedCatalog| {
        CatalogRecord::new("shop".into(), "Shop".into(), &parsed.summary(), 1)
    };
    store.put_catalog(&record(&first), &first.items).unwrap();
    let ids = || {
        let mut ids = Vec::new();
        store.for_each_catalog_item("shop", |item| ids.push(item.id)).unwrap();
        ids
    };
    // Half a replacement, then abandoned: readers see the old items throughout.
    let mut writer = store.begin_catalog("shop").unwrap();
    writer.put(&second.items[0]).unwrap();
    assert_eq!(ids(), ["a", "b"]);
    writer.abandon().unwrap();
    assert_eq!(ids(), ["a", "b"]);
    assert_eq!(store.catalog_item_sets.len(), 2, "the abandoned items are gone");
    // A whole replacement, committed.
    let mut writer = store.begin_catalog("shop").unwrap();
    for item in &second.items {
        writer.put(item).unwrap();
    }
    assert_eq!((writer.len(), ids()), (3, vec!["a".to_owned(), "b".to_owned()]));
    let (stored, replaced) = writer.commit(&record(&second)).unwrap();
    assert_eq!(stored.generation, 2);
    assert_eq!(ids(), ["c", "d", "e"]);
    let replaced = replaced.expect("the first import was replaced");
    assert_eq!((replaced.item_count(), store.catalog_item_sets.len()), (2, 5));
    store.remove_replaced(replaced).unwrap();
    assert_eq!(store.catalog_item_sets.len(), 3, "the replaced items are gone");
    assert!(store.for_each_catalog_item("none", |_| {}).unwrap().is_none());
});

on_both_backends!(choice_models_survive_reopen_and_removal, |place| {
    use interarec_choice::model::{ChoiceModel, Provenance};
    let model = ChoiceModel {
        id: "fashion".into(),
        catalog_id: Some("fashion".into()),
        created_at_unix_ms: 5,
        no_purchase_share: 0.5,
        provenance: Provenance {
            source: "transactions-csv".into(),
            data_sha256: "ab".repeat(32),
            data_bytes: 10,
            lines: 2,
            skipped: Default::default(),
            choice_sets: "as recorded".into(),
            segment_by: None,
            method: "newton".into(),
            outside_option: "assumed".into(),
            fit_ms: 1.0,
            notes: Vec::new(),
        },
        segments: Vec::new(),
    };
    {
        let store = place.open();
        store.put_choice_model(&model).unwrap();
    }
    let store = place.open();
    assert_eq!(store.get_choice_model("fashion").unwrap().as_ref(), Some(&model));
    let json = store.choice_model_json("fashion").unwrap().unwrap();
    assert_eq!(serde_json::from_slice::<ChoiceModel>(&json).unwrap(), model);
    assert_eq!(store.list_choice_models().unwrap().len(), 1);
    assert_eq!(store.remove_choice_model("fashion").unwrap(), Some(model));
    assert!(store.get_choice_model("fashion").unwrap().is_none());
    assert!(store.remove_choice_model("fashion").unwrap().is_none());
});

on_both_backends!(
    frames_are_stored_once_per_content_in_sequence_order_and_survive_reopen,
    |place| {
        use interarec_core::session::{FrameMeta, SessionEvent, SessionOptions, SessionRecord};
        let meta = |sequence: u64, bytes: &[u8]| FrameMeta {
            sequence,
            frame_id: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes)),
            mime: "image/png".into(),
            width: 2,
            height: 2,
            bytes: bytes.len() as u64,
            captured_at_unix_ms: sequence,
            received_at_unix_ms: sequence,
            url: "http://shop".into(),
            viewport_width: 1280,
            viewport_height: 800,
            dom_text: String::new(),
            shared_bytes: false,
        };
        {
            let store = place.open();
            let record = SessionRecord {
                id: "s1".into(),
                catalog_id: String::new(),
                options: SessionOptions::default(),
                created_at_unix_ms: 1,
                ended: false,
                frames_accepted: 3,
                frames_rejected: 0,
                last_sequence: 300,
                batched_through: 0,
                batches: 0,
                events: 1,
                latest_summary: None,
                model_id: String::new(),
                capacity: 0,
                constraints: None,
                planner: "offline".into(),
                vision_provider: "offline".into(),
                validate_tool: "validate".into(),
                planner_tools: vec!["real-estate-helper".into()],
                planner_turns: 2,
                fallback_turns: 1,
                credential_sha256: interarec_core::secret::fingerprint("isc-test"),
                in_flight: Some(interarec_core::session::BatchInFlight {
                    batch: 1,
                    kept: vec!["2".into()],
                    previous_summary: None,
                    stage: interarec_core::session::BatchStage::Summarized { unreadable: None },
                    closed_at_unix_ms: 1_700_000_000_000,
                }),
            };
            store.put_session(&record).unwrap();
            // Sequence 300 sorts after 2 (big-endian keys), and the same bytes are stored once.
            assert!(!store.put_frame("s1", &mut meta(2, b"one"), b"one").unwrap());
            assert!(store.put_frame("s1", &mut meta(300, b"one"), b"one").unwrap());
            assert!(!store.put_frame("s1", &mut meta(7, b"two"), b"two").unwrap());
            assert!(
                store.put_frame("s10", &mut meta(1, b"two"), b"two").unwrap(),
                "other sessions share blobs"
            );
            store
                .append_event(&SessionEvent {
                    session_id: "s1".into(),
                    sequence: 1,
                    at_unix_ms: 1,
                    kind: interarec_core::event::EventKind::Batch,
                    payload: serde_json::json!({"frames": [2, 7]}),
                })
                .unwrap();
            store.flush().unwrap();
        }
        let store = place.open();
        let sequences: Vec<u64> = store
            .frames("s1", 0, u64::MAX)
            .unwrap()
            .iter()
            .map(|f| f.sequence)
            .collect();
        assert_eq!(sequences, [2, 7, 300], "s10's frame is not in s1's range");
        assert_eq!(store.frames("s1", 3, 299).unwrap().len(), 1);
        assert_eq!(store.frame_bytes(&meta(300, b"one").frame_id).unwrap().unwrap(), b"one");
        assert!(store.frame_bytes("not-hex").unwrap().is_none());
        assert_eq!(
            store.frame("s1", 7).unwrap().unwrap().frame_id,
            meta(7, b"two").frame_id
        );
        assert!(
            store.frame("s1", 300).unwrap().unwrap().shared_bytes,
            "recorded at storage"
        );
        assert_eq!(store.events("s1", 1, u64::MAX, usize::MAX).unwrap().len(), 1);
        assert!(store.events("s1", 2, u64::MAX, usize::MAX).unwrap().is_empty());
        assert_eq!(store.get_session("s1").unwrap().unwrap().last_sequence, 300);
        assert_eq!(store.list_sessions().unwrap().len(), 1);
    }
);

on_both_backends!(leases_go_to_one_holder_until_released_or_expired, |place| {
    use std::time::Duration;
    let store = place.open();
    let (a, b) = (LeaseHolder::new("replica-a"), LeaseHolder::new("replica-b"));
    let long = Duration::from_secs(60);
    let mut held = store.try_lease("batch/s1", &a, long).unwrap().expect("free");
    assert!(store.try_lease("batch/s1", &b, long).unwrap().is_none(), "held by a");
    assert!(
        store.try_lease("batch/s2", &b, long).unwrap().is_some(),
        "names are separate"
    );
    assert_eq!(store.lease_holder("batch/s1").unwrap().unwrap().0, "replica-a");
    assert!(store.renew_lease(&mut held, &a, long).unwrap());
    store.release_lease(held).unwrap();
    assert!(store.lease_holder("batch/s1").unwrap().is_none());
    // An expired lease is taken over, and its old holder can neither renew nor release it.
    let mut stale = store
        .try_lease("batch/s1", &a, Duration::from_millis(1))
        .unwrap()
        .unwrap();
    std::thread::sleep(Duration::from_millis(5));
    let taken = store.try_lease("batch/s1", &b, long).unwrap().expect("expired");
    assert!(!store.renew_lease(&mut stale, &a, long).unwrap());
    store.release_lease(stale).unwrap();
    assert_eq!(store.lease_holder("batch/s1").unwrap().unwrap().0, "replica-b");
    store.release_lease(taken).unwrap();
});

on_both_backends!(scans_page_through_many_keys_in_byte_order, |place| {
    let store = place.open();
    // More keys than one PostgreSQL page, with 0xff bytes where a prefix's end is computed.
    let scope = KvScope::new("s\u{ff}", "tool");
    let keys: Vec<String> = (0..1300).map(|i| format!("k{i:05}")).collect();
    for key in &keys {
        store.kv_set(&scope, key, key.as_bytes()).unwrap();
    }
    store
        .kv_set(&KvScope::new("s\u{ff}", "tool2"), "k00000", b"other")
        .unwrap();
    assert_eq!(store.kv_list(&scope, "").unwrap(), keys);
    assert_eq!(store.kv_list(&scope, "k0120").unwrap(), keys[1200..1210].to_vec());
    assert_eq!(
        store.tool_kv.range(scope.key("k00010")..scope.key("k00020")).count(),
        10
    );
    assert_eq!(
        store.tool_kv.range(scope.key("k00010")..=scope.key("k00020")).count(),
        11
    );
    assert_eq!(
        store.tool_kv.range(scope.key("k01290")..).count(),
        11,
        "to the end, the other tool's key too"
    );
    assert_eq!(store.tool_kv.len(), 1301);
});

on_both_backends!(two_handles_on_one_store_see_each_others_writes, |place| {
    let (first, second) = (
        place.open(),
        match place {
            // sled allows one process one handle; a clone is what a second user of it holds.
            Place::Sled(_) => None,
            Place::Postgres(_) => Some(place.open()),
        },
    );
    let second = second.unwrap_or_else(|| first.clone());
    first.put_tool(&record("alpha", b"a"), b"a").unwrap();
    assert!(second.get_tool("alpha").unwrap().is_some());
    let before = second.changes().unwrap();
    assert!(second.remove_tool("alpha").unwrap().is_some());
    assert!(first.get_tool("alpha").unwrap().is_none());
    let after = first.changes().unwrap();
    match first.is_shared() {
        true => assert_eq!((after.tools, after.catalogs), (before.tools + 1, before.catalogs)),
        false => assert_eq!(after, Changes::default(), "sled has one writer and counts nothing"),
    }
});

#[test]
#[ignore = "needs PostgreSQL: `just test-postgres` runs it"]
fn a_shared_database_of_another_schema_version_is_refused() {
    let url = fresh_database();
    let store = Store::open_postgres(&url, 1).unwrap();
    store.meta.insert(SCHEMA_VERSION_KEY, 99u32.to_be_bytes()).unwrap();
    let error = Store::open_postgres(&url, 1).unwrap_err().to_string();
    assert!(
        error.contains("has schema version 99 but this build reads version 1"),
        "{error}"
    );
    let unreachable = Store::open_postgres("postgres://nobody@127.0.0.1:1/none", 1)
        .unwrap_err()
        .to_string();
    assert!(
        unreachable.contains("cannot be reached") && unreachable.contains("check the URL"),
        "{unreachable}"
    );
}

#[test]
fn store_locations_parse_from_configuration() {
    let dir = std::path::Path::new("/data");
    assert_eq!(
        StoreLocation::parse("", dir, 4),
        Ok(StoreLocation::Sled(dir.to_owned()))
    );
    assert_eq!(
        StoreLocation::parse("sled", dir, 4),
        Ok(StoreLocation::Sled(dir.to_owned()))
    );
    assert_eq!(
        StoreLocation::parse("postgresql://u@h/db", dir, 0),
        Ok(StoreLocation::Postgres {
            url: "postgresql://u@h/db".into(),
            pool_size: 1
        })
    );
    let refused = StoreLocation::parse("mysql://u:pw@h/db", dir, 4).unwrap_err();
    assert!(
        refused.contains("mysql://u:***@h/db") && !refused.contains("pw"),
        "{refused}"
    );
}
