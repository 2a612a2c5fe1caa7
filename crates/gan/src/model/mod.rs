//! The GAN models: generator, discriminators, their searchable operations.

pub mod discriminator;
pub mod generator;
pub mod ops;

pub use discriminator::Discriminator;
pub use generator::{Generator, GeneratorOptions};

/// Model sizes. The paper's CIFAR geometry is [`Geometry::CIFAR`], STL-10 [`Geometry::STL`];
/// [`Geometry::small`] keeps the code path with fewer channels for CPU runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Noise dimension (120); split evenly over the projections when a projection takes a part.
    pub latent: usize,
    pub gf: usize,
    pub df: usize,
    /// Width of the first cell's input; images are `bottom · 2^cells` wide.
    pub bottom: usize,
    pub cells: usize,
}

impl Geometry {
    pub const CIFAR: Self = Self {
        latent: 120,
        gf: 256,
        df: 128,
        bottom: 4,
        cells: 3,
    };
    pub const STL: Self = Self {
        latent: 120,
        gf: 270,
        df: 128,
        bottom: 6,
        cells: 3,
    };

    /// CIFAR's structure with `gf`/`df` channels and `bottom` (e.g. 32, 32, 2 for 16×16 images).
    pub fn small(gf: usize, df: usize, bottom: usize) -> Self {
        Self {
            latent: 120,
            gf,
            df,
            bottom,
            cells: 3,
        }
    }

    /// Image width.
    pub fn image_size(&self) -> usize {
        self.bottom << self.cells
    }
}
