//! Where a user adds their own adapters next to the built-in ones.

use std::sync::Arc;

use helix_core::{Adapter, HelixBuilder};

use crate::builtin;

/// An ordered list of adapters: user adapters first, the built-in classifier last.
///
/// ```
/// use helix_platforms::Registry;
/// use helix_core::{Adapter, Candidate, ErrorSignal, Failure, Helix};
///
/// struct Mine;
/// impl Adapter for Mine {
///     fn name(&self) -> &'static str { "mine" }
///     fn perceive(&self, _: &ErrorSignal) -> Option<Failure> { None }
///     fn construct(&self, _: &Failure) -> Vec<Candidate> { vec![] }
/// }
///
/// let helix = Registry::new().with(Mine).install(Helix::builder()).build();
/// assert!(format!("{helix:?}").contains("mine"));
/// ```
#[derive(Default)]
pub struct Registry {
    mine: Vec<Arc<dyn Adapter>>,
}

impl Registry {
    /// No user adapters yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a user adapter (asked before the built-in ones, in order added).
    pub fn with(mut self, a: impl Adapter + 'static) -> Self {
        self.mine.push(Arc::new(a));
        self
    }

    /// The adapters, in the order they are asked.
    pub fn adapters(&self) -> Vec<Arc<dyn Adapter>> {
        let mut all = self.mine.clone();
        all.push(Arc::new(builtin()));
        all
    }

    /// Adds every adapter to a Helix builder.
    pub fn install(&self, mut b: HelixBuilder) -> HelixBuilder {
        for a in self.adapters() {
            b = b.adapter_arc(a);
        }
        b
    }
}
