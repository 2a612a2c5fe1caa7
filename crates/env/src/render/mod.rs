//! A ray caster over MuJoCo's primitive geoms (plane, sphere, capsule, ellipsoid, cylinder, box)
//! with DMC's look: checker floor, gradient sky, a headlight plus the model's light with hard
//! shadows. The scene is a plain struct, so pure-Rust tasks and MuJoCo-backed ones share it.

mod raycast;

pub use raycast::render;

/// A 3-vector.
pub type V3 = [f64; 3];

/// A row-major 3×3 rotation (MuJoCo's `xmat`): local → world is `R·v`.
pub type Mat3 = [f64; 9];

/// The identity rotation.
pub const IDENTITY: Mat3 = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];

/// Geom shapes with MuJoCo's size conventions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// Plane z = 0 in the geom frame; half-extents in x and y (0 = infinite).
    Plane {
        half_x: f64,
        half_y: f64,
    },
    Sphere {
        radius: f64,
    },
    /// Along the local z axis, `half_length` excluding the caps.
    Capsule {
        radius: f64,
        half_length: f64,
    },
    Ellipsoid {
        radii: V3,
    },
    /// Along the local z axis.
    Cylinder {
        radius: f64,
        half_length: f64,
    },
    Box {
        half: V3,
    },
}

/// How a geom's surface is coloured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Material {
    Rgb([f32; 3]),
    /// DMC's `grid` checker: squares of `size` alternating two colours.
    Checker {
        size: f64,
        a: [f32; 3],
        b: [f32; 3],
    },
}

/// One geom in world coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geom {
    pub shape: Shape,
    pub pos: V3,
    pub rot: Mat3,
    pub material: Material,
    /// Whether it blocks light (planes in DMC do not cast shadows onto themselves).
    pub casts_shadow: bool,
}

/// A pinhole camera: looks along −z of `rot`, up is +y; `fovy` vertical, in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera {
    pub pos: V3,
    pub rot: Mat3,
    pub fovy: f64,
}

/// A scene to render.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    pub geoms: Vec<Geom>,
    pub camera: Camera,
    /// Position of the model's light (a spot light pointing down, as in DMC's XMLs).
    pub light: V3,
}

/// An RGB image, row-major `height × width × 3`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

/// DMC's materials (`common/materials.xml`).
pub mod materials {
    use super::Material;
    pub const SELF: Material = Material::Rgb([0.7, 0.5, 0.3]);
    pub const EFFECTOR: Material = Material::Rgb([0.7, 0.4, 0.2]);
    pub const DECORATION: Material = Material::Rgb([0.3, 0.5, 0.7]);
    pub const TARGET: Material = Material::Rgb([0.6, 0.3, 0.3]);
    /// The 300×300 builtin checker with `texrepeat 1 1` and `texuniform`: 0.5 m squares.
    pub const GRID: Material = Material::Checker {
        size: 0.5,
        a: [0.1, 0.2, 0.3],
        b: [0.2, 0.3, 0.4],
    };
}

/// Rotation matrix of a unit quaternion (w, x, y, z), row-major.
pub fn quat_to_mat(q: [f64; 4]) -> Mat3 {
    let n = (q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]).sqrt();
    let [w, x, y, z] = [q[0] / n, q[1] / n, q[2] / n, q[3] / n];
    [
        1.0 - 2.0 * (y * y + z * z),
        2.0 * (x * y - w * z),
        2.0 * (x * z + w * y),
        2.0 * (x * y + w * z),
        1.0 - 2.0 * (x * x + z * z),
        2.0 * (y * z - w * x),
        2.0 * (x * z - w * y),
        2.0 * (y * z + w * x),
        1.0 - 2.0 * (x * x + y * y),
    ]
}

/// Rotation taking local z onto `axis` by the shortest arc (MuJoCo's `zaxis` / `fromto`).
pub fn z_to(axis: V3) -> Mat3 {
    let n = (axis[0] * axis[0] + axis[1] * axis[1] + axis[2] * axis[2]).sqrt();
    let a = [axis[0] / n, axis[1] / n, axis[2] / n];
    let c = a[2];
    if c < -1.0 + 1e-12 {
        return quat_to_mat([0.0, 1.0, 0.0, 0.0]);
    }
    // quaternion from z to a: axis z × a, angle acos(c)
    let (x, y) = (-a[1], a[0]);
    quat_to_mat([1.0 + c, x, y, 0.0])
}

/// Product of two row-major rotations.
pub fn mat_mul(a: &Mat3, b: &Mat3) -> Mat3 {
    let mut m = [0.0; 9];
    for i in 0..3 {
        for j in 0..3 {
            m[i * 3 + j] = (0..3).map(|k| a[i * 3 + k] * b[k * 3 + j]).sum();
        }
    }
    m
}

/// `R·v`.
pub fn rotate(r: &Mat3, v: V3) -> V3 {
    [
        r[0] * v[0] + r[1] * v[1] + r[2] * v[2],
        r[3] * v[0] + r[4] * v[1] + r[5] * v[2],
        r[6] * v[0] + r[7] * v[1] + r[8] * v[2],
    ]
}

/// Rotation by `angle` about the y axis (a hinge with axis 0 1 0).
pub fn rot_y(angle: f64) -> Mat3 {
    let (s, c) = angle.sin_cos();
    [c, 0.0, s, 0.0, 1.0, 0.0, -s, 0.0, c]
}

/// Rotation by `angle` about the z axis (a hinge with axis 0 0 1).
pub fn rot_z(angle: f64) -> Mat3 {
    let (s, c) = angle.sin_cos();
    [c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0]
}
