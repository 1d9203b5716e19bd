#![warn(missing_docs)]
//! steppe-atlas: a renderer for time-aware historical maps, with the Kazakh–Dzungar Wars
//! (1635–1741) built in.
//!
//! Data flows one way: GeoJSON layers ([`data`]) are checked ([`validate`]), indexed
//! ([`index`], [`atlas`]), projected ([`project`]), styled ([`style`]) and drawn
//! ([`render`]) into PNGs ([`output`]); [`animate`] turns years into GIF and APNG
//! animations. [`query`] answers "what was here in year Y".

pub mod animate;
pub mod atlas;
pub mod cli;
pub mod data;
pub mod error;
pub mod imageformat;
pub mod index;
pub mod output;
pub mod project;
pub mod query;
pub mod render;
pub mod serve;
pub mod style;
pub mod tiles;
pub mod time;
pub mod validate;

pub use atlas::Atlas;
pub use error::{Error, Problem, Result, Severity};
