//! The PostgreSQL backend: every tree is the rows of one `tree` name in one table,
//! `interarec_kv (tree TEXT, key BYTEA, value BYTEA, PRIMARY KEY (tree, key))`, so keys keep the
//! byte order sled gives them (BYTEA compares bytewise) and range scans are index scans.
//!
//! Statements run on a small pool of connections, each owned by a plain thread with the
//! blocking `postgres` client: the store's API is synchronous (as sled's is), and a blocking
//! client must not run on a tokio worker, so a caller hands the statement to a pool thread and
//! waits for its answer. Every statement is one autocommitted statement (no transactions, no
//! extensions, no advisory locks, no LISTEN/NOTIFY), which is what lets CockroachDB and
//! YugabyteDB stand in for PostgreSQL; a statement that fails with a serialization failure
//! (SQLSTATE 40001, which those databases return under contention) or on a broken connection
//! is retried on a fresh connection.

pub use crate::failure::BackendError;
use postgres::types::ToSql;
use postgres::{Client, NoTls, Statement};
use std::collections::HashMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

/// Connections (and threads) per store by default.
pub const DEFAULT_POOL_SIZE: usize = 4;

/// Attempts of one statement before its error is returned.
const ATTEMPTS: u32 = 5;

/// The schema, in order: migration `n` takes the database from version `n` to `n + 1`. Applied
/// at start-up by whichever replica gets there first; each statement is idempotent, so replicas
/// starting at once may all run them.
const MIGRATIONS: &[&str] = &["CREATE TABLE IF NOT EXISTS interarec_kv (
        tree TEXT NOT NULL,
        key BYTEA NOT NULL,
        value BYTEA NOT NULL,
        PRIMARY KEY (tree, key)
    )"];

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// A handle on the pool. Cheap to clone.
#[derive(Clone)]
pub struct Postgres {
    jobs: Arc<Mutex<mpsc::Sender<Job>>>,
    url: Arc<str>,
}

/// One pooled connection and the statements prepared on it.
struct Connection {
    url: Arc<str>,
    client: Option<Client>,
    prepared: HashMap<&'static str, Statement>,
}

impl Connection {
    fn client(&mut self) -> Result<&mut Client, postgres::Error> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.prepared.clear();
            self.client = Some(Client::connect(&self.url, NoTls)?);
        }
        Ok(self.client.as_mut().expect("connected above"))
    }

    fn statement(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.prepared.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client()?.prepare(sql)?;
        self.prepared.insert(sql, statement.clone());
        Ok(statement)
    }

    fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.client()?.query(&statement, params)
    }

    fn execute(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, postgres::Error> {
        let statement = self.statement(sql)?;
        self.client()?.execute(&statement, params)
    }
}

/// Whether a failed statement may simply run again: a serialization failure (nothing was
/// applied) or a connection that broke (the next attempt reconnects).
fn retryable(error: &postgres::Error) -> bool {
    error.code() == Some(&postgres::error::SqlState::T_R_SERIALIZATION_FAILURE) || error.is_closed()
}

/// The URL without its password, for messages.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl Postgres {
    /// Connects `pool_size` connections to `url` and brings the schema up to date. Runs on a
    /// thread of its own (the blocking client must not run inside an async runtime).
    pub fn connect(url: &str, pool_size: usize) -> Result<Postgres, BackendError> {
        let url = url.to_owned();
        std::thread::spawn(move || Postgres::connect_here(&url, pool_size))
            .join()
            .map_err(|_| BackendError("the thread connecting to the database panicked".into()))?
    }

    fn connect_here(url: &str, pool_size: usize) -> Result<Postgres, BackendError> {
        let url: Arc<str> = Arc::from(url);
        // Fail now, with the reason, rather than on the first statement.
        let first = Client::connect(&url, NoTls).map_err(|error| {
            BackendError(format!(
                "cannot connect to {}: {}; check the URL, that the server runs and accepts this user",
                redacted(&url),
                source_text(&error)
            ))
        })?;
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let mut first = Some(first);
        for index in 0..pool_size.max(1) {
            let receiver = receiver.clone();
            // The first thread takes the connection that proved the URL; the others connect
            // on their first statement.
            let mut connection = Connection {
                url: url.clone(),
                client: first.take(),
                prepared: HashMap::new(),
            };
            std::thread::Builder::new()
                .name(format!("interarec-pg-{index}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = receiver.lock().expect("pool").recv();
                        match job {
                            Ok(job) => job(&mut connection),
                            Err(_) => return,
                        }
                    }
                })
                .map_err(|e| BackendError(format!("cannot start a database thread: {e}")))?;
        }
        let db = Postgres {
            jobs: Arc::new(Mutex::new(sender)),
            url,
        };
        db.migrate()?;
        Ok(db)
    }

    /// The URL without its password.
    pub fn describe(&self) -> String {
        redacted(&self.url)
    }

    /// Runs `work` on a pool connection, retrying it where [`retryable`] says it may.
    fn run<T: Send + 'static>(
        &self,
        work: impl Fn(&mut Connection) -> Result<T, postgres::Error> + Send + 'static,
    ) -> Result<T, BackendError> {
        let (reply, answer) = mpsc::channel();
        let job: Job = Box::new(move |connection| {
            let mut attempt = 0;
            let result = loop {
                attempt += 1;
                match work(connection) {
                    Err(error) if attempt < ATTEMPTS && retryable(&error) => {
                        if error.is_closed() {
                            connection.client = None;
                        }
                        std::thread::sleep(Duration::from_millis(10 << attempt));
                    }
                    other => break other,
                }
            };
            let _ = reply.send(result);
        });
        self.jobs
            .lock()
            .expect("pool")
            .send(job)
            .map_err(|_| BackendError("the database threads have stopped".into()))?;
        let result = answer
            .recv()
            .map_err(|_| BackendError("a database thread stopped during a statement".into()))?;
        result.map_err(|error| BackendError(format!("PostgreSQL ({}): {}", redacted(&self.url), source_text(&error))))
    }

    fn migrate(&self) -> Result<(), BackendError> {
        self.run(|connection| {
            let client = connection.client()?;
            client.batch_execute("CREATE TABLE IF NOT EXISTS interarec_migrations (version INT PRIMARY KEY)")?;
            let applied: i32 = client
                .query_one("SELECT COALESCE(MAX(version), 0) FROM interarec_migrations", &[])?
                .get(0);
            for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
                client.batch_execute(migration)?;
                client.execute(
                    "INSERT INTO interarec_migrations (version) VALUES ($1) ON CONFLICT DO NOTHING",
                    &[&(index as i32 + 1)],
                )?;
            }
            Ok(())
        })
    }

    pub(crate) fn get(&self, tree: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
        let key = key.to_vec();
        self.run(move |c| {
            let rows = c.query(
                "SELECT value FROM interarec_kv WHERE tree = $1 AND key = $2",
                &[&tree, &key],
            )?;
            Ok(rows.first().map(|row| row.get(0)))
        })
    }

    pub(crate) fn insert(&self, tree: &'static str, key: &[u8], value: &[u8]) -> Result<(), BackendError> {
        let (key, value) = (key.to_vec(), value.to_vec());
        self.run(move |c| {
            c.execute(
                "INSERT INTO interarec_kv (tree, key, value) VALUES ($1, $2, $3) \
                 ON CONFLICT (tree, key) DO UPDATE SET value = excluded.value",
                &[&tree, &key, &value],
            )
            .map(drop)
        })
    }

    pub(crate) fn remove(&self, tree: &'static str, key: &[u8]) -> Result<(), BackendError> {
        let key = key.to_vec();
        self.run(move |c| {
            c.execute("DELETE FROM interarec_kv WHERE tree = $1 AND key = $2", &[&tree, &key])
                .map(drop)
        })
    }

    pub(crate) fn compare_and_swap(
        &self,
        tree: &'static str,
        key: &[u8],
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<bool, BackendError> {
        let (key, old, new) = (key.to_vec(), old.map(<[u8]>::to_vec), new.map(<[u8]>::to_vec));
        self.run(move |c| {
            let changed = match (&old, &new) {
                (None, None) => {
                    let rows = c.query("SELECT 1 FROM interarec_kv WHERE tree = $1 AND key = $2", &[&tree, &key])?;
                    return Ok(rows.is_empty());
                }
                (None, Some(new)) => c.execute(
                    "INSERT INTO interarec_kv (tree, key, value) VALUES ($1, $2, $3) ON CONFLICT (tree, key) DO NOTHING",
                    &[&tree, &key, new],
                )?,
                (Some(old), Some(new)) => c.execute(
                    "UPDATE interarec_kv SET value = $4 WHERE tree = $1 AND key = $2 AND value = $3",
                    &[&tree, &key, old, new],
                )?,
                (Some(old), None) => c.execute(
                    "DELETE FROM interarec_kv WHERE tree = $1 AND key = $2 AND value = $3",
                    &[&tree, &key, old],
                )?,
            };
            Ok(changed == 1)
        })
    }

    /// Up to `limit` entries of `tree` between `start` and `end`, in key order.
    pub(crate) fn scan(
        &self,
        tree: &'static str,
        start: &Bound<Vec<u8>>,
        end: &Bound<Vec<u8>>,
        keys_only: bool,
        limit: i64,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, BackendError> {
        // An unbounded side is the empty key (below every key) or no upper bound at all.
        let (low, low_inclusive) = match start {
            Bound::Included(key) => (key.clone(), true),
            Bound::Excluded(key) => (key.clone(), false),
            Bound::Unbounded => (Vec::new(), true),
        };
        let (high, high_kind): (Vec<u8>, i32) = match end {
            Bound::Included(key) => (key.clone(), 1),
            Bound::Excluded(key) => (key.clone(), 0),
            Bound::Unbounded => (Vec::new(), 2),
        };
        self.run(move |c| {
            // One statement per combination keeps each one a plain index range scan.
            let sql: &'static str = match (keys_only, low_inclusive, high_kind) {
                (false, true, 0) => "SELECT key, value FROM interarec_kv WHERE tree = $1 AND key >= $2 AND key < $3 ORDER BY key LIMIT $4",
                (false, true, 1) => "SELECT key, value FROM interarec_kv WHERE tree = $1 AND key >= $2 AND key <= $3 ORDER BY key LIMIT $4",
                (false, true, _) => "SELECT key, value FROM interarec_kv WHERE tree = $1 AND key >= $2 AND $3::BYTEA IS NOT NULL ORDER BY key LIMIT $4",
                (false, false, 0) => "SELECT key, value FROM interarec_kv WHERE tree = $1 AND key > $2 AND key < $3 ORDER BY key LIMIT $4",
                (false, false, 1) => "SELECT key, value FROM interarec_kv WHERE tree = $1 AND key > $2 AND key <= $3 ORDER BY key LIMIT $4",
                (false, false, _) => "SELECT key, value FROM interarec_kv WHERE tree = $1 AND key > $2 AND $3::BYTEA IS NOT NULL ORDER BY key LIMIT $4",
                (true, true, 0) => "SELECT key, ''::BYTEA FROM interarec_kv WHERE tree = $1 AND key >= $2 AND key < $3 ORDER BY key LIMIT $4",
                (true, true, 1) => "SELECT key, ''::BYTEA FROM interarec_kv WHERE tree = $1 AND key >= $2 AND key <= $3 ORDER BY key LIMIT $4",
                (true, true, _) => "SELECT key, ''::BYTEA FROM interarec_kv WHERE tree = $1 AND key >= $2 AND $3::BYTEA IS NOT NULL ORDER BY key LIMIT $4",
                (true, false, 0) => "SELECT key, ''::BYTEA FROM interarec_kv WHERE tree = $1 AND key > $2 AND key < $3 ORDER BY key LIMIT $4",
                (true, false, 1) => "SELECT key, ''::BYTEA FROM interarec_kv WHERE tree = $1 AND key > $2 AND key <= $3 ORDER BY key LIMIT $4",
                (true, false, _) => "SELECT key, ''::BYTEA FROM interarec_kv WHERE tree = $1 AND key > $2 AND $3::BYTEA IS NOT NULL ORDER BY key LIMIT $4",
            };
            let rows = c.query(sql, &[&tree, &low, &high, &limit])?;
            Ok(rows.into_iter().map(|row| (row.get(0), row.get(1))).collect())
        })
    }

    /// Removes every row of every tree (tests only: a fresh database per test is the caller's).
    pub fn truncate_all(&self) -> Result<(), BackendError> {
        self.run(|c| c.execute("DELETE FROM interarec_kv", &[]).map(drop))
    }
}

/// Creates database `name` on the server `url` points at and returns the URL of the new
/// database (tests and benchmarks give each server group a database of its own). Runs on a
/// thread of its own, so it may be called from async code.
pub fn create_database(url: &str, name: &str) -> Result<String, BackendError> {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !valid {
        return Err(BackendError(format!(
            "database name `{name}` must be lowercase letters, digits and `_`"
        )));
    }
    let (admin, name) = (url.to_owned(), name.to_owned());
    std::thread::spawn(move || {
        let mut client = Client::connect(&admin, NoTls).map_err(|e| BackendError(source_text(&e)))?;
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .map_err(|e| BackendError(source_text(&e)))?;
        let base = admin.split('?').next().unwrap_or(&admin);
        let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
        Ok(format!("{server}/{name}"))
    })
    .join()
    .map_err(|_| BackendError("the database-creating thread panicked".into()))?
}

/// The error with its database message (the `postgres` crate's Display stops at "db error").
fn source_text(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => match std::error::Error::source(error) {
            Some(source) => format!("{error}: {source}"),
            None => error.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacted_hides_only_the_password() {
        for (url, shown) in [
            ("postgres://u:secret@h:5432/db", "postgres://u:***@h:5432/db"),
            ("postgres://u@h/db", "postgres://u@h/db"),
            ("postgres://h/db", "postgres://h/db"),
        ] {
            assert_eq!(super::redacted(url), shown);
        }
    }
}
