//! Loading a folder of manifests. (Being written.)

use std::path::Path;

use super::{LoadError, ManifestSet};
use crate::registry::Registry;

pub(super) fn load_dir(_dir: &Path, _registry: &Registry) -> Result<ManifestSet, LoadError> {
    Ok(ManifestSet::default())
}
