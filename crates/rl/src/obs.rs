//! Observation shapes.

/// The shape of an observation, or of one stored frame of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObsShape {
    /// Stacked u8 frames `[C, H, W]`, fed to the conv encoder.
    Pixels { c: usize, h: usize, w: usize },
    /// A state vector, fed to the trunks directly (the encoder genes then build nothing).
    State(usize),
}

impl ObsShape {
    /// Values per observation.
    pub fn len(&self) -> usize {
        match *self {
            ObsShape::Pixels { c, h, w } => c * h * w,
            ObsShape::State(d) => d,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes per stored frame: u8 pixels, f32 state values.
    pub fn frame_bytes(&self) -> usize {
        match *self {
            ObsShape::Pixels { .. } => self.len(),
            ObsShape::State(d) => 4 * d,
        }
    }
}
