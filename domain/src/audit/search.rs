//! Searching the System Log the way Okta's System Log is searched (reference 002):
//!
//! - `q`: keywords separated by spaces, every one matched (case-insensitively) somewhere
//!   in the entry's text — its action, actor, target, outcome, reason, client address or
//!   request id. A keyword in double quotes may hold spaces.
//! - `filter`: an expression over the entry's attributes with `eq`, `ne`, `co` (contains),
//!   `sw` (starts with), `gt`, `lt`, joined with `and`, `or`, `not` and parentheses:
//!   `eventType eq "user.session.start" and outcome.result eq "FAILURE"`.
//! - `since`, `until`, the sort order, and a cursor for the next page.
//!
//! This module parses and checks a search and turns it into SQL (the same text on SQLite
//! and PostgreSQL, with `$n` parameters); `Store::search_audit` runs it. `eq` and `ne`
//! compare exactly (outcomes ignore case), `co` and `sw` ignore case, `gt` and `lt`
//! compare times as times and other values as text.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The most keywords a `q` may hold, as Okta allows.
pub const MOST_KEYWORDS: usize = 10;
/// The longest filter accepted, in characters.
pub const LONGEST_FILTER: usize = 2_000;
/// The most entries one page gives.
pub const MOST_PER_PAGE: i64 = 1_000;
/// Entries per page unless asked otherwise.
pub const PER_PAGE: i64 = 100;

/// An attribute a filter may name: Okta's name, and the short names idflow's console
/// uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribute {
    EventType,
    Outcome,
    Reason,
    ActorId,
    ActorName,
    ActorType,
    TargetId,
    TargetName,
    TargetType,
    Client,
    RequestId,
    Published,
}

/// Each attribute: the names a filter may use for it, and its column.
const ATTRIBUTES: &[(Attribute, &[&str], &str)] = &[
    (Attribute::EventType, &["eventType", "action"], "action"),
    (
        Attribute::Outcome,
        &["outcome.result", "outcome"],
        "outcome",
    ),
    (Attribute::Reason, &["outcome.reason", "reason"], "reason"),
    (Attribute::ActorId, &["actor.id"], "actor_id"),
    (
        Attribute::ActorName,
        &["actor.displayName", "actor.alternateId", "actor"],
        "actor_display",
    ),
    (Attribute::ActorType, &["actor.type"], "actor_kind"),
    (Attribute::TargetId, &["target.id"], "target_id"),
    (
        Attribute::TargetName,
        &["target.displayName", "target.alternateId", "target"],
        "target_display",
    ),
    (Attribute::TargetType, &["target.type"], "target_kind"),
    (
        Attribute::Client,
        &["client.ipAddress", "client"],
        "client_address",
    ),
    (
        Attribute::RequestId,
        &["debugContext.debugData.requestId", "requestId"],
        "request_id",
    ),
    (Attribute::Published, &["published", "time"], "occurred_at"),
];

/// The names a filter may use, for messages.
pub fn attribute_names() -> Vec<&'static str> {
    ATTRIBUTES.iter().map(|(_, names, _)| names[0]).collect()
}

impl Attribute {
    fn named(name: &str) -> Option<Attribute> {
        ATTRIBUTES
            .iter()
            .find(|(_, names, _)| names.iter().any(|n| n.eq_ignore_ascii_case(name)))
            .map(|(a, _, _)| *a)
    }

    fn column(self) -> &'static str {
        ATTRIBUTES
            .iter()
            .find(|(a, _, _)| *a == self)
            .map_or("action", |(_, _, c)| c)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Eq,
    Ne,
    Co,
    Sw,
    Gt,
    Lt,
}

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Compare {
        attribute: Attribute,
        op: Operator,
        value: Value,
    },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

/// A value compared with: text, or a time (for `published`).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Time(DateTime<Utc>),
}

/// Why a search cannot run, in a sentence the person searching can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SearchError(pub String);

fn error(message: impl Into<String>) -> SearchError {
    SearchError(message.into())
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Open,
    Close,
}

fn tokens(text: &str) -> Result<Vec<Token>, SearchError> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Token::Open);
            }
            ')' => {
                chars.next();
                out.push(Token::Close);
            }
            '"' => {
                chars.next();
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => match chars.next() {
                            Some(escaped) => value.push(escaped),
                            None => return Err(error("the filter ends inside a quoted value")),
                        },
                        Some('"') => break,
                        Some(c) => value.push(c),
                        None => {
                            return Err(error(
                                "a quoted value in the filter is not closed: add the closing \"",
                            ));
                        }
                    }
                }
                out.push(Token::Quoted(value));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' || c == '"' {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                out.push(Token::Word(word));
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn or(&mut self) -> Result<Expr, SearchError> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.at += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, SearchError> {
        let mut left = self.not()?;
        while self.peek_word("and") {
            self.at += 1;
            let right = self.not()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, SearchError> {
        if self.peek_word("not") {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, SearchError> {
        match self.next() {
            Some(Token::Open) => {
                let inner = self.or()?;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err(error("a ( in the filter is not closed: add the )")),
                }
            }
            Some(Token::Word(name)) => {
                let attribute = Attribute::named(&name).ok_or_else(|| {
                    error(format!(
                        "the filter names {name:?}, which is not an attribute of an entry; use one of {}",
                        attribute_names().join(", ")
                    ))
                })?;
                let op = match self.next() {
                    Some(Token::Word(op)) => match op.to_ascii_lowercase().as_str() {
                        "eq" => Operator::Eq,
                        "ne" => Operator::Ne,
                        "co" => Operator::Co,
                        "sw" => Operator::Sw,
                        "gt" => Operator::Gt,
                        "lt" => Operator::Lt,
                        _ => {
                            return Err(error(format!(
                                "{op:?} after {name} is not an operator; use eq, ne, co, sw, gt or lt"
                            )));
                        }
                    },
                    _ => {
                        return Err(error(format!(
                            "{name} needs an operator and a value, as in {name} eq \"…\""
                        )));
                    }
                };
                let text = match self.next() {
                    Some(Token::Quoted(value)) => value,
                    Some(Token::Word(word)) if !["and", "or", "not"].contains(&word.as_str()) => {
                        word
                    }
                    _ => {
                        return Err(error(format!(
                            "{name} {} needs a value in double quotes",
                            op_name(op)
                        )));
                    }
                };
                let value = if attribute == Attribute::Published {
                    if matches!(op, Operator::Co | Operator::Sw) {
                        return Err(error(
                            "published compares times: use eq, ne, gt or lt with a time such as \"2026-12-01T00:00:00Z\"",
                        ));
                    }
                    Value::Time(parse_time(&text).ok_or_else(|| {
                        error(format!(
                            "{text:?} is not a time; write it as \"2026-12-01T00:00:00Z\""
                        ))
                    })?)
                } else {
                    Value::Text(text)
                };
                Ok(Expr::Compare {
                    attribute,
                    op,
                    value,
                })
            }
            Some(Token::Close) => Err(error("the filter has a ) without its (")),
            Some(Token::Quoted(value)) => Err(error(format!(
                "the filter has the value {value:?} where an attribute's name should be"
            ))),
            None => Err(error("the filter ends where a comparison should be")),
        }
    }
}

fn op_name(op: Operator) -> &'static str {
    match op {
        Operator::Eq => "eq",
        Operator::Ne => "ne",
        Operator::Co => "co",
        Operator::Sw => "sw",
        Operator::Gt => "gt",
        Operator::Lt => "lt",
    }
}

/// A time as a search gives it: RFC 3339 (`2026-12-01T08:00:00Z`), or a date alone
/// (midnight UTC).
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// Parses a filter expression.
pub fn parse_filter(text: &str) -> Result<Expr, SearchError> {
    if text.chars().count() > LONGEST_FILTER {
        return Err(error(format!(
            "the filter is longer than {LONGEST_FILTER} characters"
        )));
    }
    let mut parser = Parser {
        tokens: tokens(text)?,
        at: 0,
    };
    let expr = parser.or()?;
    match parser.next() {
        None => Ok(expr),
        Some(Token::Close) => Err(error("the filter has a ) without its (")),
        Some(_) => Err(error(
            "the filter goes on after a whole comparison: join comparisons with and / or",
        )),
    }
}

/// The keywords of a `q`: words separated by spaces, or in double quotes.
pub fn parse_keywords(q: &str) -> Result<Vec<String>, SearchError> {
    let mut keywords = Vec::new();
    for token in tokens(q)? {
        match token {
            Token::Word(w) | Token::Quoted(w) if !w.trim().is_empty() => {
                keywords.push(w.trim().to_lowercase())
            }
            Token::Open => keywords.push("(".into()),
            Token::Close => keywords.push(")".into()),
            _ => {}
        }
    }
    if keywords.len() > MOST_KEYWORDS {
        return Err(error(format!(
            "search for at most {MOST_KEYWORDS} keywords at a time"
        )));
    }
    Ok(keywords)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Order {
    /// Oldest first (Okta's default).
    Ascending,
    /// Newest first (the console's default).
    #[default]
    Descending,
}

impl Order {
    pub fn parse(text: &str) -> Result<Order, SearchError> {
        match text.trim().to_ascii_uppercase().as_str() {
            "" | "DESCENDING" | "DESC" => Ok(Order::Descending),
            "ASCENDING" | "ASC" => Ok(Order::Ascending),
            other => Err(error(format!(
                "sortOrder {other:?} is neither ASCENDING nor DESCENDING"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Order::Ascending => "ASCENDING",
            Order::Descending => "DESCENDING",
        }
    }
}

/// Where a page ends: the time and id of its last entry, so the next page starts after
/// it whatever is appended meanwhile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub at: DateTime<Utc>,
    pub id: uuid::Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!("{}_{}", self.at.timestamp_micros(), self.id.simple())
    }

    pub fn decode(text: &str) -> Result<Cursor, SearchError> {
        let bad = || error("the cursor (after) is not one a search gave; start again without it");
        let (micros, id) = text.trim().split_once('_').ok_or_else(bad)?;
        let at = micros
            .parse::<i64>()
            .ok()
            .and_then(DateTime::from_timestamp_micros)
            .ok_or_else(bad)?;
        let id = uuid::Uuid::parse_str(id).map_err(|_| bad())?;
        Ok(Cursor { at, id })
    }
}

/// A search of the System Log, checked.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Search {
    pub keywords: Vec<String>,
    pub filter: Option<Expr>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub order: Order,
    pub after: Option<Cursor>,
    pub limit: i64,
}

/// A search as a person or a script writes it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SearchInput {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub filter: String,
    #[serde(default)]
    pub since: String,
    #[serde(default)]
    pub until: String,
    #[serde(default, rename = "sortOrder", alias = "sort")]
    pub sort_order: String,
    #[serde(default)]
    pub after: String,
    #[serde(default)]
    pub limit: Option<i64>,
}

impl SearchInput {
    /// Whether anything narrows the search.
    pub fn narrows(&self) -> bool {
        [&self.q, &self.filter, &self.since, &self.until]
            .iter()
            .any(|v| !v.trim().is_empty())
    }
}

impl Search {
    pub fn parse(input: &SearchInput) -> Result<Search, SearchError> {
        let time = |name: &str, text: &str| -> Result<Option<DateTime<Utc>>, SearchError> {
            if text.trim().is_empty() {
                return Ok(None);
            }
            parse_time(text).map(Some).ok_or_else(|| {
                error(format!(
                    "{name} {text:?} is not a time; write it as 2026-12-01T08:00:00Z or 2026-12-01"
                ))
            })
        };
        let since = time("since", &input.since)?;
        let until = time("until", &input.until)?;
        if let (Some(since), Some(until)) = (since, until)
            && since >= until
        {
            return Err(error("since must be before until"));
        }
        let limit = input.limit.unwrap_or(PER_PAGE);
        if !(1..=MOST_PER_PAGE).contains(&limit) {
            return Err(error(format!(
                "limit must be between 1 and {MOST_PER_PAGE}"
            )));
        }
        Ok(Search {
            keywords: parse_keywords(&input.q)?,
            filter: Some(input.filter.trim())
                .filter(|f| !f.is_empty())
                .map(parse_filter)
                .transpose()?,
            since,
            until,
            order: Order::parse(&input.sort_order)?,
            after: Some(input.after.trim())
                .filter(|a| !a.is_empty())
                .map(Cursor::decode)
                .transpose()?,
            limit,
        })
    }
}

/// A value bound to a `$n` parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Text(String),
    Time(DateTime<Utc>),
    Id(uuid::Uuid),
}

/// A `WHERE` clause (without the keyword) and its parameters, numbered from 1.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sql {
    pub clause: String,
    pub binds: Vec<Bind>,
}

impl Sql {
    fn bind(&mut self, value: Bind) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }
}

/// The database a search's SQL is for: they index keywords differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Keywords of three letters or more through the `audit_text` trigram index (FTS5).
    Sqlite,
    /// Keywords through the trigram index (pg_trgm) on [`SEARCHED_TEXT`] itself.
    Postgres,
}

/// A keyword as an FTS5 phrase: matched as a substring by the trigram index.
fn fts_phrase(keyword: &str) -> String {
    format!("\"{}\"", keyword.replace('"', "\"\""))
}

/// The text a keyword is looked for in: the entry's text fields, lowercased. PostgreSQL
/// indexes this very expression (migration `log_search`); keep the two the same.
pub const SEARCHED_TEXT: &str = "LOWER(action || ' ' || outcome || ' ' || actor_kind || ' ' || COALESCE(actor_id, '') || ' ' || COALESCE(actor_display, '') || ' ' || COALESCE(target_kind, '') || ' ' || COALESCE(target_id, '') || ' ' || COALESCE(target_display, '') || ' ' || COALESCE(client_address, '') || ' ' || COALESCE(request_id, '') || ' ' || COALESCE(reason, ''))";

/// `%`, `_` and `\` escaped for `LIKE … ESCAPE '\'`.
fn like_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One comparison. Outside a `not`, a comparison with an entry's missing attribute may be
/// NULL (as good as false there), which keeps it plain enough for the indexes; under a
/// `not` (`negated`) each is made true or false, so `not` holds for entries without the
/// attribute too.
fn compare(
    sql: &mut Sql,
    dialect: Dialect,
    attribute: Attribute,
    op: Operator,
    value: &Value,
    negated: bool,
) -> String {
    let column = attribute.column();
    // `co` and `sw` read every entry unless narrowed first: outside a `not`, a value of
    // three letters or more is looked up in the keyword index too (an entry whose
    // attribute holds it holds it in its text), then checked on the attribute.
    let narrowed = match (op, value) {
        (Operator::Co | Operator::Sw, Value::Text(text))
            if !negated && text.chars().count() >= 3 =>
        {
            Some(keyword_match(sql, dialect, &text.to_lowercase()))
        }
        _ => None,
    };
    let bound = match value {
        Value::Time(t) => Bind::Time(*t),
        Value::Text(t) => Bind::Text(match op {
            Operator::Co => format!("%{}%", like_escaped(&t.to_lowercase())),
            Operator::Sw => format!("{}%", like_escaped(&t.to_lowercase())),
            _ if attribute == Attribute::Outcome => t.to_lowercase(),
            _ => t.clone(),
        }),
    };
    let p = sql.bind(bound);
    let plain = match op {
        Operator::Eq => format!("{column} = {p}"),
        Operator::Ne => return format!("({column} IS NULL OR {column} <> {p})"),
        Operator::Gt => format!("{column} > {p}"),
        Operator::Lt => format!("{column} < {p}"),
        Operator::Co | Operator::Sw => format!("LOWER({column}) LIKE {p} ESCAPE '\\'"),
    };
    match narrowed {
        _ if negated => format!("COALESCE({plain}, FALSE)"),
        Some(narrowed) => format!("({narrowed} AND {plain})"),
        None => plain,
    }
}

/// The condition that an entry's text holds `keyword` (lowercase), through the index
/// where there is one.
fn keyword_match(sql: &mut Sql, dialect: Dialect, keyword: &str) -> String {
    if dialect == Dialect::Sqlite && keyword.chars().count() >= 3 {
        let p = sql.bind(Bind::Text(fts_phrase(keyword)));
        format!("seq IN (SELECT rowid FROM audit_text WHERE audit_text MATCH {p})")
    } else {
        let p = sql.bind(Bind::Text(format!("%{}%", like_escaped(keyword))));
        format!("{SEARCHED_TEXT} LIKE {p} ESCAPE '\\'")
    }
}

fn expression(sql: &mut Sql, dialect: Dialect, expr: &Expr, negated: bool) -> String {
    match expr {
        Expr::Compare {
            attribute,
            op,
            value,
        } => compare(sql, dialect, *attribute, *op, value, negated),
        Expr::And(a, b) => {
            let a = expression(sql, dialect, a, negated);
            let b = expression(sql, dialect, b, negated);
            format!("({a} AND {b})")
        }
        Expr::Or(a, b) => {
            let a = expression(sql, dialect, a, negated);
            let b = expression(sql, dialect, b, negated);
            format!("({a} OR {b})")
        }
        Expr::Not(a) => {
            let a = expression(sql, dialect, a, true);
            format!("(NOT {a})")
        }
    }
}

impl Search {
    /// The search's `WHERE` clause over `audit_log`.
    pub fn to_sql(&self, dialect: Dialect) -> Sql {
        let mut sql = Sql::default();
        let mut parts = Vec::new();
        if let Some(since) = self.since {
            let p = sql.bind(Bind::Time(since));
            parts.push(format!("occurred_at >= {p}"));
        }
        if let Some(until) = self.until {
            let p = sql.bind(Bind::Time(until));
            parts.push(format!("occurred_at < {p}"));
        }
        if let Some(after) = &self.after {
            let at = sql.bind(Bind::Time(after.at));
            let at_again = sql.bind(Bind::Time(after.at));
            let id = sql.bind(Bind::Id(after.id));
            let (before, beyond) = match self.order {
                Order::Descending => ("<", "<"),
                Order::Ascending => (">", ">"),
            };
            parts.push(format!(
                "(occurred_at {before} {at} OR (occurred_at = {at_again} AND id {beyond} {id}))"
            ));
        }
        for keyword in &self.keywords {
            let matched = keyword_match(&mut sql, dialect, keyword);
            parts.push(matched);
        }
        if let Some(filter) = &self.filter {
            parts.push(expression(&mut sql, dialect, filter, false));
        }
        sql.clause = if parts.is_empty() {
            "TRUE".to_string()
        } else {
            parts.join(" AND ")
        };
        sql
    }

    /// `ORDER BY` for the search's order.
    pub fn order_by(&self) -> &'static str {
        match self.order {
            Order::Descending => "occurred_at DESC, id DESC",
            Order::Ascending => "occurred_at ASC, id ASC",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Expr {
        parse_filter(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn text(attribute: Attribute, op: Operator, value: &str) -> Expr {
        Expr::Compare {
            attribute,
            op,
            value: Value::Text(value.into()),
        }
    }

    #[test]
    fn comparisons_use_okta_names_and_short_ones() {
        assert_eq!(
            parsed(r#"eventType eq "user.session.start""#),
            text(Attribute::EventType, Operator::Eq, "user.session.start")
        );
        assert_eq!(
            parsed(r#"actor co "ann""#),
            text(Attribute::ActorName, Operator::Co, "ann")
        );
        assert_eq!(
            parsed(r#"TARGET.ID sw "abc""#),
            text(Attribute::TargetId, Operator::Sw, "abc")
        );
        assert_eq!(
            parsed(r#"client.ipAddress ne "127.0.0.1""#),
            text(Attribute::Client, Operator::Ne, "127.0.0.1")
        );
    }

    #[test]
    fn and_binds_tighter_than_or_and_not_tightest() {
        let a = || text(Attribute::EventType, Operator::Eq, "a");
        let b = || text(Attribute::Outcome, Operator::Eq, "b");
        let c = || text(Attribute::ActorName, Operator::Eq, "c");
        assert_eq!(
            parsed(r#"action eq "a" or outcome eq "b" and actor eq "c""#),
            Expr::Or(
                Box::new(a()),
                Box::new(Expr::And(Box::new(b()), Box::new(c())))
            )
        );
        assert_eq!(
            parsed(r#"(action eq "a" or outcome eq "b") and not actor eq "c""#),
            Expr::And(
                Box::new(Expr::Or(Box::new(a()), Box::new(b()))),
                Box::new(Expr::Not(Box::new(c())))
            )
        );
        assert_eq!(parsed(r#"not (action eq "a")"#), Expr::Not(Box::new(a())));
    }

    #[test]
    fn quoted_values_keep_spaces_and_escapes() {
        assert_eq!(
            parsed(r#"reason co "said \"no\" twice""#),
            text(Attribute::Reason, Operator::Co, "said \"no\" twice")
        );
    }

    #[test]
    fn published_compares_times() {
        let expr = parsed(r#"published gt "2026-12-01T08:00:00Z""#);
        let Expr::Compare { value, .. } = expr else {
            panic!()
        };
        assert_eq!(value, Value::Time("2026-12-01T08:00:00Z".parse().unwrap()));
        assert!(
            parse_filter(r#"published gt "yesterday""#)
                .unwrap_err()
                .0
                .contains("not a time")
        );
        assert!(
            parse_filter(r#"published co "2026""#)
                .unwrap_err()
                .0
                .contains("compares times")
        );
    }

    #[test]
    fn mistakes_are_named() {
        let message = |text: &str| parse_filter(text).unwrap_err().0;
        assert!(message(r#"colour eq "red""#).contains("not an attribute"));
        assert!(message(r#"actor is "ann""#).contains("not an operator"));
        assert!(message("actor eq").contains("needs a value"));
        assert!(message(r#"actor eq "ann"#).contains("not closed"));
        assert!(message(r#"(actor eq "ann""#).contains("not closed"));
        assert!(message(r#"actor eq "ann")"#).contains("without its ("));
        assert!(message(r#"actor eq "ann" outcome eq "x""#).contains("and / or"));
        assert!(message("").contains("ends where"));
        assert!(message(&"x".repeat(LONGEST_FILTER + 1)).contains("longer"));
    }

    #[test]
    fn keywords_are_words_or_quoted_phrases_lowercased() {
        assert_eq!(
            parse_keywords(r#"Ann  "session start" FAILURE"#).unwrap(),
            vec!["ann", "session start", "failure"]
        );
        assert!(parse_keywords(&"a ".repeat(MOST_KEYWORDS + 1)).is_err());
    }

    #[test]
    fn a_cursor_goes_there_and_back() {
        let cursor = Cursor {
            at: "2026-12-06T10:00:00.123456Z".parse().unwrap(),
            id: uuid::Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        assert!(Cursor::decode("nonsense").is_err());
    }

    #[test]
    fn a_search_checks_its_times_order_and_limit() {
        let input = |f: fn(&mut SearchInput)| {
            let mut input = SearchInput::default();
            f(&mut input);
            Search::parse(&input)
        };
        assert_eq!(input(|_| {}).unwrap().limit, PER_PAGE);
        assert!(input(|i| i.since = "last week".into()).is_err());
        assert!(
            input(|i| {
                i.since = "2026-12-02".into();
                i.until = "2026-12-01".into();
            })
            .unwrap_err()
            .0
            .contains("before until")
        );
        assert!(input(|i| i.sort_order = "sideways".into()).is_err());
        assert_eq!(
            input(|i| i.sort_order = "ascending".into()).unwrap().order,
            Order::Ascending
        );
        assert!(input(|i| i.limit = Some(0)).is_err());
        assert!(input(|i| i.limit = Some(MOST_PER_PAGE + 1)).is_err());
    }

    #[test]
    fn the_sql_binds_every_value_and_escapes_like() {
        let search = Search::parse(&SearchInput {
            q: "50%_off".into(),
            filter: r#"outcome eq "FAILURE" and not (actor co "a\\b")"#.into(),
            since: "2026-12-01".into(),
            ..SearchInput::default()
        })
        .unwrap();
        let sql = search.to_sql(Dialect::Postgres);
        assert_eq!(sql.binds.len(), 4);
        assert_eq!(sql.binds[1], Bind::Text("%50\\%\\_off%".into()));
        assert_eq!(sql.binds[2], Bind::Text("failure".into()));
        assert_eq!(sql.binds[3], Bind::Text("%a\\\\b%".into()));
        assert!(
            sql.clause
                .contains("(NOT COALESCE(LOWER(actor_display) LIKE $4")
        );
        assert!(
            !sql.clause.contains("FAILURE"),
            "values are bound, never inlined"
        );
        // SQLite looks a keyword of three letters or more up in its trigram index; a
        // quote inside a keyword stays inside the phrase.
        let sql = search.to_sql(Dialect::Sqlite);
        assert_eq!(sql.binds[1], Bind::Text("\"50%_off\"".into()));
        assert!(sql.clause.contains("audit_text MATCH $2"));
        assert_eq!(fts_phrase("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
