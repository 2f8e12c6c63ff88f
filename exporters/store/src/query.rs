//! [`EventQuery`]: which events to read back.

use fcc::{Severity, Timestamp, TraceId};

use crate::schema::Dialect;

/// A query over `agent_events`: every set condition must hold; results come
/// newest first, at most `limit` of them (default 1,000).
///
/// ```
/// use fcc_store::EventQuery;
/// let q = EventQuery::new().correlation_id("run-42").severity(fcc::Severity::Error).limit(10);
/// # let _ = q;
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventQuery {
    pub(crate) since: Option<Timestamp>,
    pub(crate) until: Option<Timestamp>,
    pub(crate) event_types: Vec<String>,
    pub(crate) categories: Vec<String>,
    pub(crate) source: Option<String>,
    pub(crate) severity: Option<Severity>,
    pub(crate) correlation_id: Option<String>,
    pub(crate) task: Option<String>,
    pub(crate) mission_id: Option<String>,
    pub(crate) objective_id: Option<String>,
    pub(crate) trace_id: Option<TraceId>,
    pub(crate) limit: Option<usize>,
}

macro_rules! text_setter {
    ($($name:ident),*) => {$(
        #[doc = concat!("Only events whose `", stringify!($name), "` is this.")]
        pub fn $name(mut self, value: impl Into<String>) -> Self {
            self.$name = Some(value.into());
            self
        }
    )*};
}

impl EventQuery {
    /// Every event (newest first, 1,000 at most).
    pub fn new() -> EventQuery {
        EventQuery::default()
    }
    /// At or after this time.
    pub fn since(mut self, t: Timestamp) -> Self {
        self.since = Some(t);
        self
    }
    /// Before this time.
    pub fn until(mut self, t: Timestamp) -> Self {
        self.until = Some(t);
        self
    }
    /// Of one of these types (dotted names).
    pub fn event_types<I: IntoIterator<Item = S>, S: Into<String>>(mut self, types: I) -> Self {
        self.event_types = types.into_iter().map(Into::into).collect();
        self
    }
    /// In one of these categories.
    pub fn categories<I: IntoIterator<Item = S>, S: Into<String>>(mut self, c: I) -> Self {
        self.categories = c.into_iter().map(Into::into).collect();
        self
    }
    /// Of this severity.
    pub fn severity(mut self, s: Severity) -> Self {
        self.severity = Some(s);
        self
    }
    /// In this trace.
    pub fn trace_id(mut self, t: TraceId) -> Self {
        self.trace_id = Some(t);
        self
    }
    /// At most this many (0: none; any larger than the database can count,
    /// `i64::MAX`, is no limit).
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }
    text_setter!(source, correlation_id, task, mission_id, objective_id);

    /// `WHERE ...` (or empty) and the parameters, with the dialect's placeholders.
    pub(crate) fn where_clause(&self, d: Dialect, first: usize) -> (String, Vec<Param>) {
        let mut conds = Vec::new();
        let mut params = Vec::new();
        let ph = |params: &mut Vec<Param>, p: Param| {
            params.push(p);
            match d {
                Dialect::Sqlite => format!("?{}", first + params.len() - 1),
                Dialect::Postgres => format!("${}", first + params.len() - 1),
            }
        };
        if let Some(t) = self.since {
            let p = ph(&mut params, Param::Int(t.unix_micros()));
            conds.push(format!("ts_micros >= {p}"));
        }
        if let Some(t) = self.until {
            let p = ph(&mut params, Param::Int(t.unix_micros()));
            conds.push(format!("ts_micros < {p}"));
        }
        for (col, values) in [
            ("event_type", &self.event_types),
            ("category", &self.categories),
        ] {
            if !values.is_empty() {
                let list: Vec<String> = values
                    .iter()
                    .map(|v| ph(&mut params, Param::Text(v.clone())))
                    .collect();
                conds.push(format!("{col} IN ({})", list.join(", ")));
            }
        }
        let texts = [
            ("source", &self.source),
            ("correlation_id", &self.correlation_id),
            ("task", &self.task),
            ("mission_id", &self.mission_id),
            ("objective_id", &self.objective_id),
        ];
        for (col, v) in texts {
            if let Some(v) = v {
                let p = ph(&mut params, Param::Text(v.clone()));
                conds.push(format!("{col} = {p}"));
            }
        }
        if let Some(s) = self.severity {
            let p = ph(&mut params, Param::Text(s.as_str().to_owned()));
            conds.push(format!("severity = {p}"));
        }
        if let Some(t) = self.trace_id {
            let p = ph(&mut params, Param::Text(t.to_string()));
            conds.push(format!("trace_id = {p}"));
        }
        let clause = if conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conds.join(" AND "))
        };
        (clause, params)
    }
}

impl EventQuery {
    /// The SELECT of one page: the text columns (payload as text), this
    /// query's conditions and, when paging, the keyset cursor `after` (the
    /// last row's time and id), newest first, the limit. `v1` reads a
    /// version 1 table as it is (no `trace_id` or `span_id`: they read as
    /// NULL). Returns the SQL, its parameters and the number of columns.
    pub(crate) fn select_sql(
        &self,
        d: Dialect,
        after: Option<(i64, String)>,
        v1: bool,
    ) -> (String, Vec<Param>, usize) {
        let (mut clause, mut params) = self.where_clause(d, 1);
        if let Some((ts, id)) = after {
            let mark = |n: usize| match d {
                Dialect::Sqlite => format!("?{n}"),
                Dialect::Postgres => format!("${n}"),
            };
            let (a, b) = (mark(params.len() + 1), mark(params.len() + 2));
            let cond = format!("(ts_micros < {a} OR (ts_micros = {a} AND event_id < {b}))");
            clause = if clause.is_empty() {
                format!(" WHERE {cond}")
            } else {
                format!("{clause} AND {cond}")
            };
            params.push(Param::Int(ts));
            params.push(Param::Text(id));
        }
        let cols: Vec<&str> = crate::row::COLUMNS
            .iter()
            .filter(|c| **c != "ts_micros")
            .map(|c| match (*c, d) {
                ("payload", Dialect::Postgres) => "payload::text",
                _ => c,
            })
            .collect();
        let from = if v1 {
            "(SELECT *, NULL AS trace_id, NULL AS span_id FROM agent_events) AS agent_events"
        } else {
            "agent_events"
        };
        let sql = format!(
            "SELECT {} FROM {from}{clause} ORDER BY ts_micros DESC, event_id DESC LIMIT {}",
            cols.join(", "),
            sql_count(self.limit.unwrap_or(1000))
        );
        (sql, params, cols.len())
    }
}

/// A count as SQL takes it: a BIGINT, so at most `i64::MAX` (a larger limit
/// is no limit).
pub(crate) fn sql_count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A query parameter.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Param {
    Int(i64),
    Text(String),
}
