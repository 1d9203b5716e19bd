//! A dataset prepared for drawing and querying: loaded once per process, indexed once.

use crate::data::{Dataset, Layer, Loaded, Source};
use crate::error::Result;
use crate::index::{close_t_junctions, Adjacency, Index};
use crate::time::EndDates;

/// Dataset + spatial index + territory adjacency.
pub struct Atlas {
    /// The features.
    pub data: Dataset,
    /// R-trees per layer.
    pub index: Index,
    /// Shared edges between territory areas.
    pub adjacency: Adjacency,
}

impl Atlas {
    /// Prepare a dataset that has already been checked. Territory areas that meet at
    /// T-junctions get the missing vertices, so shared borders match segment for segment.
    pub fn new(mut data: Dataset) -> Atlas {
        let mut areas = data.layer(Layer::Territories).to_vec();
        if close_t_junctions(&mut areas).iter().any(|n| *n > 0) {
            data.set_layer(Layer::Territories, areas);
        }
        let index = Index::build(&data);
        let adjacency = Adjacency::build(&data);
        Atlas { data, index, adjacency }
    }

    /// Load and prepare a dataset, refusing it if it has errors.
    pub fn load(source: &Source, end_dates: EndDates) -> Result<Atlas> {
        let loaded: Loaded = Dataset::load(source, end_dates);
        Ok(Atlas::new(loaded.into_result()?))
    }
}
