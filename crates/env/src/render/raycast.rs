//! Ray–geom intersections and shading.

use super::{Camera, Geom, Image, Mat3, Material, Scene, Shape, V3};

fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn add(a: V3, b: V3) -> V3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}
fn mul(a: V3, s: f64) -> V3 {
    [a[0] * s, a[1] * s, a[2] * s]
}
fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
fn norm(a: V3) -> V3 {
    mul(a, 1.0 / dot(a, a).sqrt())
}
/// `Rᵀ·v` (world → local).
fn to_local(r: &Mat3, v: V3) -> V3 {
    [
        r[0] * v[0] + r[3] * v[1] + r[6] * v[2],
        r[1] * v[0] + r[4] * v[1] + r[7] * v[2],
        r[2] * v[0] + r[5] * v[1] + r[8] * v[2],
    ]
}

const EPS: f64 = 1e-9;

/// Nearest positive root of `a t² + 2 b t + c = 0`.
fn quadratic(a: f64, b: f64, c: f64) -> Option<f64> {
    let disc = b * b - a * c;
    if disc < 0.0 || a.abs() < 1e-300 {
        return None;
    }
    let s = disc.sqrt();
    let t0 = (-b - s) / a;
    let t1 = (-b + s) / a;
    [t0, t1].into_iter().find(|&t| t > EPS)
}

fn sphere(o: V3, d: V3, c: V3, r: f64) -> Option<(f64, V3)> {
    let oc = sub(o, c);
    quadratic(dot(d, d), dot(oc, d), dot(oc, oc) - r * r).map(|t| (t, sub(add(o, mul(d, t)), c)))
}

/// The side of a finite cylinder along z: the nearest hit with |z| ≤ half_length.
fn tube(o: V3, d: V3, radius: f64, half_length: f64) -> Option<(f64, V3)> {
    let t = quadratic(
        d[0] * d[0] + d[1] * d[1],
        o[0] * d[0] + o[1] * d[1],
        o[0] * o[0] + o[1] * o[1] - radius * radius,
    )?;
    let p = add(o, mul(d, t));
    (p[2].abs() <= half_length).then_some((t, [p[0], p[1], 0.0]))
}

/// Intersection in the geom's local frame: distance along `d` and the local normal.
fn hit_local(shape: &Shape, o: V3, d: V3) -> Option<(f64, V3)> {
    match *shape {
        Shape::Plane { half_x, half_y } => {
            if d[2].abs() < 1e-12 {
                return None;
            }
            let t = -o[2] / d[2];
            let p = add(o, mul(d, t));
            let inside =
                (half_x == 0.0 || p[0].abs() <= half_x) && (half_y == 0.0 || p[1].abs() <= half_y);
            // One-sided, as MuJoCo draws planes: only hit from above.
            (t > EPS && inside && o[2] > 0.0).then_some((t, [0.0, 0.0, 1.0]))
        }
        Shape::Sphere { radius } => sphere(o, d, [0.0; 3], radius),
        Shape::Ellipsoid { radii } => {
            let os = [o[0] / radii[0], o[1] / radii[1], o[2] / radii[2]];
            let ds = [d[0] / radii[0], d[1] / radii[1], d[2] / radii[2]];
            sphere(os, ds, [0.0; 3], 1.0)
                .map(|(t, p)| (t, [p[0] / radii[0], p[1] / radii[1], p[2] / radii[2]]))
        }
        Shape::Capsule {
            radius,
            half_length,
        } => {
            let mut best: Option<(f64, V3)> = None;
            let mut consider = |h: Option<(f64, V3)>| {
                if let Some((t, n)) = h {
                    if best.is_none_or(|(bt, _)| t < bt) {
                        best = Some((t, n));
                    }
                }
            };
            consider(tube(o, d, radius, half_length));
            consider(sphere(o, d, [0.0, 0.0, half_length], radius));
            consider(sphere(o, d, [0.0, 0.0, -half_length], radius));
            best
        }
        Shape::Cylinder {
            radius,
            half_length,
        } => {
            let mut best = tube(o, d, radius, half_length);
            for side in [-1.0, 1.0] {
                if d[2].abs() > 1e-12 {
                    let t = (side * half_length - o[2]) / d[2];
                    let p = add(o, mul(d, t));
                    if t > EPS
                        && p[0] * p[0] + p[1] * p[1] <= radius * radius
                        && best.is_none_or(|(bt, _)| t < bt)
                    {
                        best = Some((t, [0.0, 0.0, side]));
                    }
                }
            }
            best
        }
        Shape::Box { half } => {
            let (mut t0, mut t1, mut axis) = (f64::NEG_INFINITY, f64::INFINITY, 0);
            for i in 0..3 {
                if d[i].abs() < 1e-12 {
                    if o[i].abs() > half[i] {
                        return None;
                    }
                    continue;
                }
                let (a, b) = ((-half[i] - o[i]) / d[i], (half[i] - o[i]) / d[i]);
                let (lo, hi) = if a < b { (a, b) } else { (b, a) };
                if lo > t0 {
                    t0 = lo;
                    axis = i;
                }
                t1 = t1.min(hi);
            }
            if t0 > t1 || t0 <= EPS {
                return None;
            }
            let mut n = [0.0; 3];
            n[axis] = -d[axis].signum();
            Some((t0, n))
        }
    }
}

fn hit(g: &Geom, o: V3, d: V3) -> Option<(f64, V3)> {
    let lo = to_local(&g.rot, sub(o, g.pos));
    let ld = to_local(&g.rot, d);
    hit_local(&g.shape, lo, ld).map(|(t, n)| (t, norm(super::rotate(&g.rot, n))))
}

fn nearest(geoms: &[Geom], o: V3, d: V3) -> Option<(f64, V3, &Geom)> {
    geoms
        .iter()
        .filter_map(|g| hit(g, o, d).map(|(t, n)| (t, n, g)))
        .min_by(|a, b| a.0.total_cmp(&b.0))
}

fn base_color(g: &Geom, p: V3) -> [f64; 3] {
    match g.material {
        Material::Rgb(c) => c.map(f64::from),
        Material::Checker { size, a, b } => {
            let local = to_local(&g.rot, sub(p, g.pos));
            let parity = ((local[0] / size).floor() + (local[1] / size).floor()) as i64 & 1;
            (if parity == 0 { a } else { b }).map(f64::from)
        }
    }
}

/// Colour seen along a ray: headlight (ambient .4 + diffuse .8 along the view) plus the scene
/// light (diffuse .7, shadowed), as DMC's `visual.xml` and light defaults give.
fn shade(scene: &Scene, o: V3, d: V3) -> [f64; 3] {
    let Some((t, n, g)) = nearest(&scene.geoms, o, d) else {
        // Gradient skybox: rgb1 (.4 .6 .8) above fading to black below.
        let k = (0.5 + 0.5 * d[2]).clamp(0.0, 1.0);
        return [0.4 * k, 0.6 * k, 0.8 * k];
    };
    let p = add(o, mul(d, t));
    let n = if dot(n, d) > 0.0 { mul(n, -1.0) } else { n };
    let head = (-dot(n, d)).max(0.0);
    let to_light = sub(scene.light, p);
    let dist = dot(to_light, to_light).sqrt();
    let l = mul(to_light, 1.0 / dist);
    let mut diffuse = dot(n, l).max(0.0);
    if diffuse > 0.0 {
        let shadow_o = add(p, mul(n, 1e-6));
        let blocked = scene
            .geoms
            .iter()
            .filter(|h| h.casts_shadow && !std::ptr::eq(*h, g))
            .any(|h| hit(h, shadow_o, l).is_some_and(|(s, _)| s < dist));
        if blocked {
            diffuse = 0.0;
        }
    }
    let k = 0.4 + 0.8 * head * 0.6 + 0.7 * diffuse * 0.5;
    base_color(g, p).map(|c| (c * k).clamp(0.0, 1.0))
}

fn primary_ray(cam: &Camera, width: usize, height: usize, x: f64, y: f64) -> V3 {
    let f = 1.0 / (cam.fovy.to_radians() / 2.0).tan();
    let aspect = width as f64 / height as f64;
    let u = (2.0 * x / width as f64 - 1.0) * aspect;
    let v = 1.0 - 2.0 * y / height as f64;
    let r = &cam.rot;
    // camera axes are the columns of its rotation: right, up, back
    let right = [r[0], r[3], r[6]];
    let up = [r[1], r[4], r[7]];
    let back = [r[2], r[5], r[8]];
    norm(add(add(mul(right, u), mul(up, v)), mul(back, -f)))
}

/// Renders `scene` to an RGB image, one ray per pixel through its centre.
pub fn render(scene: &Scene, width: usize, height: usize) -> Image {
    let mut data = vec![0u8; width * height * 3];
    for y in 0..height {
        for x in 0..width {
            let d = primary_ray(&scene.camera, width, height, x as f64 + 0.5, y as f64 + 0.5);
            let c = shade(scene, scene.camera.pos, d);
            let i = (y * width + x) * 3;
            for k in 0..3 {
                data[i + k] = (c[k] * 255.0).round() as u8;
            }
        }
    }
    Image {
        width,
        height,
        data,
    }
}
