//! Writing frames: PNG for one, animated GIF for an episode.

use std::path::Path;

use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, Frame, RgbImage, RgbaImage};

use crate::render::Image;

fn rgb(img: &Image) -> RgbImage {
    RgbImage::from_raw(img.width as u32, img.height as u32, img.data.clone())
        .expect("consistent image size")
}

/// Saves one frame as PNG.
pub fn write_png(img: &Image, path: &Path) -> image::ImageResult<()> {
    rgb(img).save(path)
}

/// Reads a PNG written by [`write_png`].
pub fn read_png(path: &Path) -> image::ImageResult<Image> {
    let img = image::open(path)?.to_rgb8();
    Ok(Image {
        width: img.width() as usize,
        height: img.height() as usize,
        data: img.into_raw(),
    })
}

/// Saves frames as a looping GIF, `delay_ms` per frame.
pub fn write_gif(frames: &[Image], path: &Path, delay_ms: u32) -> image::ImageResult<()> {
    let file = std::fs::File::create(path)?;
    let mut enc = GifEncoder::new_with_speed(file, 10);
    enc.set_repeat(Repeat::Infinite)?;
    for f in frames {
        let rgba: RgbaImage = image::DynamicImage::ImageRgb8(rgb(f)).to_rgba8();
        enc.encode_frame(Frame::from_parts(
            rgba,
            0,
            0,
            Delay::from_numer_denom_ms(delay_ms, 1),
        ))?;
    }
    Ok(())
}
