//! The engine over a real store, on both backends; each part in its own file.

use crate::access::Role;
use crate::audit::{Action, Actor, NewEntry, Outcome};
use crate::store::*;

mod directory_events;
mod helpers_and_use_cases;
mod runs;
mod schedules;
