//! The small SQL layer both backends share, so that each query and each row
//! decoder is written once (in `shared.rs`) and each backend supplies only
//! its connection.
//!
//! Statements are written in one neutral spelling that is SQLite's, with
//! two additions, and [`Dialect::render`] adapts it in one place:
//!
//! * parameters are numbered, `?1`, `?2`, ... (PostgreSQL: `$1`, `$2`, ...),
//!   and `?` stands nowhere else;
//! * `= ANY(?N)` tests membership in a [`List`] parameter (SQLite reads the
//!   list as a JSON array with `json_each`, which also lifts SQLite's limit
//!   on bound parameters);
//! * `instr(text, part)` is a plain substring test (PostgreSQL: `strpos`).

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::{Result, StoreError};

/// Which SQL a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

const ANY: &str = "= ANY(";

impl Dialect {
    /// The neutral spelling of `sql` in this dialect.
    pub(crate) fn render(self, sql: &str) -> Cow<'_, str> {
        match self {
            Dialect::Sqlite if sql.contains(ANY) => {
                let mut out = String::with_capacity(sql.len() + 32);
                let mut rest = sql;
                while let Some(at) = rest.find(ANY) {
                    out.push_str(&rest[..at]);
                    let list = &rest[at + ANY.len()..];
                    let end = list.find(')').unwrap_or(list.len());
                    out.push_str("IN (SELECT value FROM json_each(");
                    out.push_str(&list[..end]);
                    out.push_str("))");
                    rest = list.get(end + 1..).unwrap_or("");
                }
                out.push_str(rest);
                Cow::Owned(out)
            }
            Dialect::Sqlite => Cow::Borrowed(sql),
            Dialect::Postgres => Cow::Owned(sql.replace('?', "$").replace("instr(", "strpos(")),
        }
    }

    /// An expression giving the indicators of report `r` as JSON text,
    /// `[[kind, value], ...]` in position order: one statement, so one
    /// snapshot, reads a report with its indicators.
    pub(crate) fn report_indicators(self) -> &'static str {
        match self {
            Dialect::Sqlite => {
                "(SELECT json_group_array(json_array(i.kind, i.value) ORDER BY ri.position)
                  FROM report_indicators ri JOIN indicators i ON i.id = ri.indicator_id
                  WHERE ri.report_id = r.id)"
            }
            Dialect::Postgres => {
                "(SELECT COALESCE(json_agg(json_build_array(i.kind, i.value) ORDER BY ri.position), '[]')::TEXT
                  FROM report_indicators ri JOIN indicators i ON i.id = ri.indicator_id
                  WHERE ri.report_id = r.id)"
            }
        }
    }
}

/// A value either backend can bind.
pub trait Param {
    fn for_sqlite(&self) -> &dyn rusqlite::ToSql;
    fn for_postgres(&self) -> &(dyn postgres::types::ToSql + Sync);
}

impl<T: rusqlite::ToSql + postgres::types::ToSql + Sync> Param for T {
    fn for_sqlite(&self) -> &dyn rusqlite::ToSql {
        self
    }
    fn for_postgres(&self) -> &(dyn postgres::types::ToSql + Sync) {
        self
    }
}

/// A list bound as one parameter, for `= ANY(?N)`: an array in PostgreSQL,
/// a JSON array in SQLite (made only when SQLite binds it).
pub(crate) struct List<'a, T> {
    items: &'a [T],
    json: OnceLock<String>,
}

impl<'a, T> List<'a, T> {
    pub(crate) fn new(items: &'a [T]) -> Self {
        List {
            items,
            json: OnceLock::new(),
        }
    }
}

impl<T> Param for List<'_, T>
where
    T: Clone + Into<serde_json::Value> + Sync,
    for<'b> &'b [T]: postgres::types::ToSql,
{
    fn for_sqlite(&self) -> &dyn rusqlite::ToSql {
        self.json
            .get_or_init(|| serde_json::Value::from(self.items).to_string())
    }
    fn for_postgres(&self) -> &(dyn postgres::types::ToSql + Sync) {
        &self.items
    }
}

/// One result row, read by column name.
pub trait SqlRow {
    fn int(&self, column: &str) -> Result<i64>;
    fn opt_int(&self, column: &str) -> Result<Option<i64>>;
    fn text(&self, column: &str) -> Result<String>;
    fn opt_text(&self, column: &str) -> Result<Option<String>>;
    fn bytes(&self, column: &str) -> Result<Vec<u8>>;
    fn opt_bytes(&self, column: &str) -> Result<Option<Vec<u8>>>;
}

/// Implements [`SqlRow`] for a driver's row type through its typed getter.
macro_rules! sql_row_via {
    ($row:ty, $get:ident) => {
        impl $crate::sql::SqlRow for $row {
            fn int(&self, column: &str) -> $crate::Result<i64> {
                Ok(self.$get(column)?)
            }
            fn opt_int(&self, column: &str) -> $crate::Result<Option<i64>> {
                Ok(self.$get(column)?)
            }
            fn text(&self, column: &str) -> $crate::Result<String> {
                Ok(self.$get(column)?)
            }
            fn opt_text(&self, column: &str) -> $crate::Result<Option<String>> {
                Ok(self.$get(column)?)
            }
            fn bytes(&self, column: &str) -> $crate::Result<Vec<u8>> {
                Ok(self.$get(column)?)
            }
            fn opt_bytes(&self, column: &str) -> $crate::Result<Option<Vec<u8>>> {
                Ok(self.$get(column)?)
            }
        }
    };
}
pub(crate) use sql_row_via;

/// What [`Conn::rows`] hands each row to.
pub type EachRow<'a> = &'a mut dyn FnMut(&dyn SqlRow) -> Result<()>;

/// A connection, or a transaction on one, running statements already
/// rendered in its [`Dialect`]. Callers use the methods on `dyn Conn`,
/// which render the neutral spelling first.
pub trait Conn {
    fn dialect(&self) -> Dialect;
    /// Runs a statement; returns how many rows it changed.
    fn run(&mut self, sql: &str, params: &[&dyn Param]) -> Result<usize>;
    /// Runs a query, handing every row to `each` in order.
    fn rows(&mut self, sql: &str, params: &[&dyn Param], each: EachRow<'_>) -> Result<()>;
}

impl dyn Conn + '_ {
    pub(crate) fn execute(&mut self, sql: &str, params: &[&dyn Param]) -> Result<usize> {
        let sql = self.dialect().render(sql);
        self.run(&sql, params)
    }

    pub(crate) fn for_each(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        each: EachRow<'_>,
    ) -> Result<()> {
        let sql = self.dialect().render(sql);
        self.rows(&sql, params, each)
    }

    pub(crate) fn query<T>(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        mut decode: impl FnMut(&dyn SqlRow) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.for_each(sql, params, &mut |row| {
            out.push(decode(row)?);
            Ok(())
        })?;
        Ok(out)
    }

    pub(crate) fn query_opt<T>(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        decode: impl FnMut(&dyn SqlRow) -> Result<T>,
    ) -> Result<Option<T>> {
        Ok(self.query(sql, params, decode)?.into_iter().next())
    }

    pub(crate) fn query_one<T>(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        decode: impl FnMut(&dyn SqlRow) -> Result<T>,
    ) -> Result<T> {
        self.query_opt(sql, params, decode)?
            .ok_or_else(|| StoreError::Corrupt(format!("no row from {sql:?}")))
    }
}

/// Parameters for a statement built piece by piece.
#[derive(Default)]
pub(crate) struct Args<'a> {
    values: Vec<Box<dyn Param + 'a>>,
}

impl<'a> Args<'a> {
    /// Adds a value; returns its placeholder.
    pub(crate) fn push(&mut self, value: impl Param + 'a) -> String {
        self.values.push(Box::new(value));
        format!("?{}", self.values.len())
    }

    pub(crate) fn refs(&self) -> Vec<&dyn Param> {
        self.values
            .iter()
            .map(|v| v.as_ref() as &dyn Param)
            .collect()
    }
}

/// SQLite treats a negative LIMIT as none; PostgreSQL rejects it, so huge
/// limits saturate instead of wrapping.
pub(crate) fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutral_sql_renders_per_dialect() {
        let sql = "SELECT id FROM t WHERE id = ANY(?1) AND instr(v, ?2) > 0 AND k = ?10";
        assert_eq!(
            Dialect::Sqlite.render(sql),
            "SELECT id FROM t WHERE id IN (SELECT value FROM json_each(?1)) \
             AND instr(v, ?2) > 0 AND k = ?10"
        );
        assert_eq!(
            Dialect::Postgres.render(sql),
            "SELECT id FROM t WHERE id = ANY($1) AND strpos(v, $2) > 0 AND k = $10"
        );
        assert!(matches!(
            Dialect::Sqlite.render("SELECT 1 WHERE a = ?1"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn lists_bind_as_json_in_sqlite() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let texts = ["a\"b".to_string(), "c".to_string()];
        let list = List::new(&texts);
        let n: i64 = conn
            .query_row(
                &Dialect::Sqlite.render("SELECT COUNT(*) FROM json_each(?1) WHERE value = ANY(?1)"),
                [list.for_sqlite()],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 2);
        let ints = List::new(&[1i64, -2][..]);
        let sum: i64 = conn
            .query_row(
                &Dialect::Sqlite
                    .render("SELECT SUM(value) FROM json_each(?1) WHERE value = ANY(?1)"),
                [ints.for_sqlite()],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(sum, -1);
    }
}
