//! SCIM filters answered from indexes, on both backends: for generated users and groups
//! (names and emails in several cases, non-ASCII letters that lowercase to ASCII, odd
//! shapes of `emails`, updates and deletes) and generated filters, the users and groups an
//! index lookup finds and the filter then keeps are exactly those the filter keeps from
//! the whole directory. Pages cut in SQL are the same slices of the whole list, and keys
//! rebuilt for rows written before they were kept give the same answers.

use super::*;
use crate::directory::{Group, User};
use crate::scim::filter::{group_anchor, matches, parse};
use crate::store::directory::UserWrite;
use crate::store::groups::GroupWrite;
use serde_json::{Value, json};

/// A small deterministic generator, so a failing case can be repeated.
struct Seeded(u64);

impl Seeded {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    /// `text` with the case of some letters changed.
    fn recase(&mut self, text: &str) -> String {
        text.chars()
            .map(|c| match self.below(3) {
                0 => c.to_uppercase().next().unwrap_or(c),
                1 => c.to_lowercase().next().unwrap_or(c),
                _ => c,
            })
            .collect()
    }
}

// U+212A (Kelvin sign) lowercases to an ASCII k; U+0130 to i and a combining dot.
const NAMES: &[&str] = &[
    "ada",
    "Ada Lovelace",
    "BOB",
    "b\u{f3}b",
    "\u{212a}en",
    "ken",
    "\u{130}lker",
    " ada ",
];
const EMAILS: &[&str] = &[
    "Ada@Example.com",
    "ada@example.com",
    "bob@x.org",
    "\u{212a}en@x.org",
    "ken@x.org",
    "",
];

fn emails(seed: &mut Seeded) -> Option<Value> {
    let email = |seed: &mut Seeded| Value::String(seed.pick(EMAILS).to_string());
    Some(match seed.below(7) {
        0 => return None,
        1 => json!([]),
        2 => json!([{ "value": email(seed), "type": "work", "primary": true }]),
        3 => {
            json!([{ "value": email(seed), "type": "work" }, { "value": email(seed), "type": "home" }])
        }
        // Odd shapes clients have sent: a bare string, a list of values, one object.
        4 => json!([email(seed)]),
        5 => json!([{ "value": [email(seed), email(seed)] }]),
        _ => json!({ "value": email(seed) }),
    })
}

fn user_write(seed: &mut Seeded, n: usize) -> UserWrite {
    let mut attributes = serde_json::Map::new();
    if let Some(emails) = emails(seed) {
        attributes.insert(
            if seed.chance(20) { "Emails" } else { "emails" }.into(),
            emails,
        );
    }
    match seed.below(7) {
        0 => {}
        1 => {
            attributes.insert("displayName".into(), json!({ "value": seed.pick(NAMES) }));
        }
        // Odd values: a boolean, a string reading true, a number, a list.
        2 => {
            let odd = [
                json!(true),
                json!("TRUE"),
                json!(7),
                json!(["ada", 7]),
                json!([]),
            ];
            attributes.insert("displayName".into(), seed.pick(&odd).clone());
        }
        _ => {
            attributes.insert("displayName".into(), json!(seed.pick(NAMES)));
        }
    }
    // A PATCH that removed `active` leaves a null: the resource has no `active`.
    if seed.chance(15) {
        attributes.insert("active".into(), Value::Null);
    }
    if seed.chance(50) {
        attributes.insert("title".into(), json!(seed.pick(NAMES)));
    }
    let name = seed.pick(NAMES).trim().to_string();
    UserWrite {
        user_name: format!("{}{n}@Example.com", seed.recase(&name)),
        external_id: match seed.below(3) {
            0 => None,
            1 => Some(seed.pick(&["X1", "x1", "X2"]).to_string()),
            _ => Some(format!("ext{n}")),
        },
        status: *seed.pick(&[
            UserStatus::Active,
            UserStatus::Suspended,
            UserStatus::Deprovisioned,
        ]),
        role: Role::UnassignedUser,
        display_name: match seed.below(3) {
            0 => None,
            1 => Some("  ".into()),
            _ => Some(seed.pick(NAMES).to_string()),
        },
        email: seed.chance(70).then(|| seed.pick(EMAILS).to_string()),
        attributes,
    }
}

/// A user as SCIM shows it: times to the millisecond.
fn user_resource(user: &User) -> Value {
    let mut object = crate::scim::user::resource(user);
    let time =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    object.insert(
        "meta".into(),
        json!({ "created": time(user.created_at), "lastModified": time(user.updated_at) }),
    );
    Value::Object(object)
}

/// Times for filters around the users' own: as SCIM shows them, to the microsecond, to
/// the second, in another offset, and a millisecond either side.
fn times_around(users: &[User]) -> Vec<String> {
    use chrono::{FixedOffset, SecondsFormat, TimeDelta};
    let hour_east = FixedOffset::east_opt(3600).unwrap();
    users
        .iter()
        .flat_map(|u| [u.created_at, u.updated_at])
        .flat_map(|t| {
            let ms = TimeDelta::milliseconds(1);
            [
                t.to_rfc3339_opts(SecondsFormat::Millis, true),
                t.to_rfc3339_opts(SecondsFormat::Micros, true),
                t.to_rfc3339_opts(SecondsFormat::Secs, true),
                t.with_timezone(&hour_east)
                    .to_rfc3339_opts(SecondsFormat::Micros, false),
                (t + ms).to_rfc3339_opts(SecondsFormat::Millis, true),
                (t - ms).to_rfc3339_opts(SecondsFormat::AutoSi, true),
            ]
        })
        .collect()
}

fn group_resource(group: &Group) -> Value {
    Value::Object(crate::scim::group::resource(group, |u| {
        format!("/Users/{u}")
    }))
}

/// A filter text: comparisons on the attributes clients filter on (the indexed ones
/// and others), value paths, and `and`, `or`, `not` around them.
fn filter(seed: &mut Seeded, ids: &[String], user: bool) -> String {
    let (times, ids): (Vec<&String>, Vec<&String>) = ids
        .iter()
        .partition(|v| crate::scim::filter::instant(v).is_some());
    let value = |seed: &mut Seeded| -> String {
        let raw = match seed.below(6) {
            0 => seed.pick(NAMES).to_string(),
            1 => seed.pick(EMAILS).to_string(),
            2 if !ids.is_empty() => seed.pick(&ids).to_string(),
            // A piece of a name or email, for co, sw, ew and the orderings.
            3 => {
                let from_names = seed.chance(50);
                let source: Vec<char> = seed
                    .pick(if from_names { NAMES } else { EMAILS })
                    .chars()
                    .collect();
                let from = seed.below(source.len().max(1));
                let to = (from + seed.below(5)).min(source.len());
                source[from.min(to)..to].iter().collect()
            }
            _ => seed
                .pick(&["X1", "ext3", "ada1@example.com", "nobody", "true", "", "m"])
                .to_string(),
        };
        seed.recase(&raw).replace('"', "")
    };
    let attributes: &[&str] = if user {
        &[
            "userName",
            "externalId",
            "emails.value",
            "emails",
            "EMAILS.Value",
            "displayName",
            "id",
            "title",
            "urn:ietf:params:scim:schemas:core:2.0:User:userName",
            "meta.lastModified",
            "active",
        ]
    } else {
        &[
            "displayName",
            "id",
            "externalId",
            "members.value",
            "members",
            "MEMBERS.VALUE",
        ]
    };
    let ops = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"];
    let atom = |seed: &mut Seeded| -> String {
        match seed.below(13) {
            11 | 12 if user && !times.is_empty() => format!(
                "{} {} \"{}\"",
                seed.pick(&["meta.lastModified", "meta.created", "META.LASTMODIFIED"]),
                seed.pick(&ops),
                seed.pick(&times)
            ),
            0 => format!("{} pr", seed.pick(attributes)),
            1 if user => format!("emails[value {} \"{}\"]", seed.pick(&ops), value(seed)),
            2 if user => format!("emails[type eq \"work\" and value eq \"{}\"]", value(seed)),
            1 | 2 => format!("members[value eq \"{}\"]", value(seed)),
            3 if user => format!(
                "emails[value {} \"{}\" or value pr]",
                seed.pick(&ops),
                value(seed)
            ),
            3 | 4 => format!(
                "{} {} {}",
                seed.pick(&[
                    "active",
                    "displayName",
                    "emails.value",
                    "externalId",
                    "title"
                ]),
                seed.pick(&["eq", "ne", "gt"]),
                seed.pick(&["true", "false", "null", "7"])
            ),
            5 | 6 => format!("{} eq \"{}\"", seed.pick(attributes), value(seed)),
            _ => format!(
                "{} {} \"{}\"",
                seed.pick(attributes),
                seed.pick(&ops),
                value(seed)
            ),
        }
    };
    let first = atom(seed);
    match seed.below(6) {
        0 | 1 => first,
        2 => format!("{first} and {}", atom(seed)),
        3 => format!("{} and ({first} or {})", atom(seed), atom(seed)),
        4 => format!("not ({}) and {first}", atom(seed)),
        _ => format!("{first} and {} and not ({})", atom(seed), atom(seed)),
    }
}

fn ids_of(
    resources: impl Iterator<Item = Value>,
    filter: &crate::scim::filter::Parsed,
) -> Vec<String> {
    resources
        .filter(|r| matches(filter, r))
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// Every generated filter gives, from the store, what it gives when matched in memory
/// over the whole directory: the same users in the same order, the same total, the same
/// pages. How many the database answered exactly (the others were read in a bounded
/// scan and matched in memory).
async fn compare_users(store: &Store, seed: &mut Seeded, ids: &[String], rounds: usize) -> usize {
    let all = store.all_users().await.unwrap();
    let mut exact = 0;
    for _ in 0..rounds {
        let text = filter(seed, ids, true);
        let Ok(parsed) = parse(&text) else { continue };
        let condition = crate::scim::sql::users(&parsed, crate::scim::sql::Dialect::Sqlite);
        if condition.exact {
            exact += 1;
        }
        let expected = ids_of(all.iter().map(user_resource), &parsed);
        let (found, total) = store
            .users_matching(&parsed, 0, 1000, user_resource)
            .await
            .unwrap()
            .expect("a small directory is never too many to read");
        let found: Vec<String> = found.iter().map(|u| u.id.to_string()).collect();
        assert_eq!(found, expected, "{text}\n{}", condition.sql);
        assert_eq!(total, expected.len(), "{text}");
        let (page, total) = store
            .users_matching(&parsed, 2, 3, user_resource)
            .await
            .unwrap()
            .unwrap();
        let page: Vec<String> = page.iter().map(|u| u.id.to_string()).collect();
        assert_eq!(
            page,
            expected.iter().skip(2).take(3).cloned().collect::<Vec<_>>(),
            "{text}"
        );
        assert_eq!(total, expected.len(), "{text}");
    }
    exact
}

/// The Directory's search worked out in memory: users whose user name, shown name or
/// email has `q` (lowercased) where a word starts, with the status asked for.
fn searched_in_memory(
    all: &[User],
    q: &str,
    status: Option<UserStatus>,
) -> Vec<crate::directory::UserId> {
    let q = q.trim().to_lowercase();
    let at_word = |text: &str| {
        let text = text.to_lowercase();
        crate::directory::word_starts(&text)
            .into_iter()
            .any(|at| text[at..].starts_with(&q))
    };
    all.iter()
        .filter(|u| status.is_none_or(|s| u.status == s))
        .filter(|u| {
            q.is_empty()
                || at_word(&u.user_name)
                || at_word(u.shown_name())
                || u.email.as_deref().is_some_and(at_word)
        })
        .map(|u| u.id)
        .collect()
}

async fn directory_search_matches(store: &Store, seed: &mut Seeded) {
    let all = store.all_users().await.unwrap();
    for _ in 0..150 {
        let source = match seed.below(3) {
            0 => seed.pick(NAMES).to_string(),
            1 => seed.pick(EMAILS).to_string(),
            _ => seed.pick(&all).user_name.clone(),
        };
        let chars: Vec<char> = source.chars().collect();
        let from = seed.below(chars.len().max(1));
        let to = (from + 1 + seed.below(4)).min(chars.len());
        let q: String = if seed.chance(15) {
            String::new()
        } else {
            chars[from.min(to)..to].iter().collect()
        };
        let q = seed.recase(&q).trim().to_lowercase();
        let status = *seed.pick(&[None, Some(UserStatus::Active), Some(UserStatus::Suspended)]);
        let expected = searched_in_memory(&all, &q, status);
        let (everything, total) = store.search_users(&q, status, 0, 1000).await.unwrap();
        let found: Vec<_> = everything.iter().map(|u| u.id).collect();
        assert_eq!(found, expected, "search {q:?} {status:?}");
        assert_eq!(total, expected.len());
        let (page, total) = store.search_users(&q, status, 2, 3).await.unwrap();
        let page: Vec<_> = page.iter().map(|u| u.id).collect();
        assert_eq!(
            page,
            expected.iter().skip(2).take(3).copied().collect::<Vec<_>>()
        );
        assert_eq!(total, expected.len());
    }
}

/// Deep pages start from marked places in the list (here every 4th user): asked once
/// (by skipping), again (the marks are made), and then from the marks, each page is the
/// whole list's slice; after a user goes, and after a marked user goes without this
/// server knowing the order moved on (another server's change), still.
async fn deep_pages_from_marks(mut store: Store, all: &[User]) {
    store.user_marks = std::sync::Arc::new(crate::store::directory::ListMarks::every(4));
    let pages = async |store: &Store, all: &[&User]| {
        for _ in 0..3 {
            for (offset, limit) in [
                (4, 4),
                (9, 5),
                (13, 10),
                (40, 10),
                (all.len() - 1, 4),
                (all.len(), 4),
                (99, 2),
            ] {
                let (page, total) = store.users_page(offset, limit).await.unwrap();
                let page: Vec<_> = page.into_iter().map(|u| u.id).collect();
                let slice: Vec<_> = all.iter().skip(offset).take(limit).map(|u| u.id).collect();
                assert_eq!(page, slice, "offset {offset}, limit {limit}");
                assert_eq!(total, all.len());
            }
        }
    };
    let mut listed: Vec<&User> = all.iter().collect();
    pages(&store, &listed).await;
    // A user goes: the order's generation moves on, and the marks are made again.
    let gone = listed.remove(22);
    assert!(
        store
            .delete_user(gone.id, &scim_actor(), &entry())
            .await
            .unwrap()
    );
    pages(&store, &listed).await;
    // A marked user (place 20) goes, and the generation is put back as this server saw it.
    let gone = listed.remove(20);
    with_pool!(store, pool => {
        let (generation,): (i64,) = sqlx::query_as("SELECT generation FROM directory_counts WHERE kind = 'users'")
            .fetch_one(pool).await.unwrap();
        sqlx::query("DELETE FROM users WHERE id = $1").bind(gone.id.0).execute(pool).await.unwrap();
        sqlx::query("UPDATE directory_counts SET generation = $1 WHERE kind = 'users'")
            .bind(generation).execute(pool).await.unwrap();
    });
    let (page, _) = store.users_page(20, 3).await.unwrap();
    let page: Vec<_> = page.into_iter().map(|u| u.id).collect();
    let slice: Vec<_> = listed.iter().skip(20).take(3).map(|u| u.id).collect();
    assert_eq!(
        page, slice,
        "a page whose mark is gone is found by skipping"
    );
}

crate::backend_tests! {
    async fn scim_filters_answer_from_indexes_as_from_the_whole_directory(store) {
        let mut seed = Seeded(20261206);
        let mut users = Vec::new();
        for n in 0..48 {
            let write = user_write(&mut seed, n);
            users.push(store.provision_user(&write, &scim_actor(), &entry()).await.unwrap());
        }
        // Some users change (their keys with them), some go.
        for n in 0..12 {
            let user = users[n * 4].clone();
            let mut write = user_write(&mut seed, 100 + n);
            write.user_name = user.user_name.clone();
            store.update_user(user.id, None, &write, &scim_actor(), &entry()).await.unwrap();
        }
        for gone in [users[5].id, users[17].id, users[33].id] {
            assert!(store.delete_user(gone, &scim_actor(), &entry()).await.unwrap());
        }
        let all = store.all_users().await.unwrap();
        assert_eq!(all.len(), 45);
        let mut ids: Vec<String> = all.iter().map(|u| u.id.to_string()).collect();
        ids.push(users[5].id.to_string());
        ids.extend(times_around(&all));

        let exact = compare_users(&store, &mut seed, &ids, 1500).await;
        assert!(exact >= 700, "only {exact} filters were answered exactly in the database");

        // Pages cut in SQL are the whole list's slices; the count is the whole list's.
        assert_eq!(store.count_users().await.unwrap(), 45);
        for (offset, limit) in [(0, 10), (10, 10), (40, 10), (45, 3), (200, 5), (3, 0)] {
            let (page, total) = store.users_page(offset, limit).await.unwrap();
            let page: Vec<_> = page.into_iter().map(|u| u.id).collect();
            let slice: Vec<_> = all.iter().skip(offset).take(limit).map(|u| u.id).collect();
            assert_eq!(page, slice, "offset {offset}, limit {limit}");
            assert_eq!(total, 45);
        }

        // The Directory's search gives, page by page, what the whole directory filtered
        // in memory gives.
        directory_search_matches(&store, &mut seed).await;

        // Rows written before keys were kept get them when the store opens: the same answers.
        with_pool!(store, pool => {
            sqlx::query("DELETE FROM user_keys").execute(pool).await.unwrap();
            sqlx::query("UPDATE users SET keys_version = 0").execute(pool).await.unwrap();
        });
        assert_eq!(store.key_unkeyed_users().await.unwrap(), 45);
        assert_eq!(store.key_unkeyed_users().await.unwrap(), 0);
        assert!(compare_users(&store, &mut seed, &ids, 300).await > 0);
        directory_search_matches(&store, &mut seed).await;

        // Groups: by id, name or member from the index, the same as from every group.
        let mut groups = Vec::new();
        for n in 0..8 {
            let mut members: Vec<crate::directory::UserId> = Vec::new();
            for _ in 0..seed.below(6) {
                let member = seed.pick(&all).id;
                if !members.contains(&member) {
                    members.push(member);
                }
            }
            let write = GroupWrite {
                display_name: format!("{} {n}", seed.pick(NAMES).trim()),
                external_id: Some(format!("g{n}")),
                attributes: serde_json::Map::new(),
                members,
            };
            groups.push(store.create_group(&write, &scim_actor(), &entry()).await.unwrap());
        }
        let every_group = store.all_groups().await.unwrap();
        let mut group_ids: Vec<String> = ids.clone();
        group_ids.extend(every_group.iter().map(|g| g.id.to_string()));
        group_ids.extend(every_group.iter().map(|g| g.display_name.clone()));
        let mut anchored = 0;
        for _ in 0..800 {
            let text = filter(&mut seed, &group_ids, false);
            let Ok(parsed) = parse(&text) else { continue };
            let Some(anchor) = group_anchor(&parsed) else { continue };
            anchored += 1;
            let expected = ids_of(every_group.iter().map(group_resource), &parsed);
            let found = store.groups_anchored(&anchor).await.unwrap();
            let actual = ids_of(found.iter().map(group_resource), &parsed);
            assert_eq!(actual, expected, "{text} ({anchor:?})");
        }
        assert!(anchored >= 200, "only {anchored} group filters were answered from an index");
        assert_eq!(store.count_groups().await.unwrap(), 8);
        for (offset, limit) in [(0, 3), (3, 3), (6, 3), (9, 1)] {
            let page = store.groups_page(offset, limit).await.unwrap();
            let slice: Vec<&Group> = every_group.iter().skip(offset).take(limit).collect();
            assert_eq!(page.len(), slice.len());
            for (a, b) in page.iter().zip(slice) {
                assert_eq!(group_resource(a), group_resource(b), "offset {offset}");
            }
        }

        // Deep user pages from marked places (this changes the directory: last).
        deep_pages_from_marks(store.clone(), &all).await;
    }
}
