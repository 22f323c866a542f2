//! Charts as PNG: the SVG the reports draw, rasterised by `resvg`.
//!
//! The charts name their font only as `sans-serif` and leave text to the viewer, which a
//! browser resolves from the system's fonts. A PNG has no viewer to do that, and a CI machine
//! often has no fonts at all, so a sans-serif face (Noto Sans) is compiled in and every PNG
//! looks the same wherever it is made.
//!
//! A PNG the lab wrote carries a `tEXt` chunk right after the header with the same mark as its
//! SVG twin, so a later run may replace it and nothing else (see `output::write_file`).

use std::sync::{Arc, OnceLock};

use anyhow::{Context, Result};
use resvg::{tiny_skia, usvg};

/// The family the compiled-in face registers as.
const FAMILY: &str = "Noto Sans";

/// Pixels per SVG unit: twice the SVG's size, sharp on a high-density screen or a slide.
pub const SCALE: f32 = 2.0;

fn fonts() -> Arc<usvg::fontdb::Database> {
    static FONTS: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut fonts = usvg::fontdb::Database::new();
            fonts.load_font_data(ttf_noto_sans::REGULAR.to_vec());
            fonts.set_sans_serif_family(FAMILY);
            Arc::new(fonts)
        })
        .clone()
}

/// Rasterises `svg` at [`SCALE`] on a white background and encodes it as PNG, with `mark`
/// (the lab's "I wrote this" line) as a `tEXt` chunk named `Software`.
pub fn svg_to_png(svg: &str, mark: &str) -> Result<Vec<u8>> {
    let options = usvg::Options {
        fontdb: fonts(),
        font_family: FAMILY.to_owned(),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &options).context("the chart's SVG cannot be read")?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(SCALE)
        .context("the chart has no size")?;
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height())
        .context("the chart is too large to rasterise")?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(SCALE, SCALE),
        &mut pixmap.as_mut(),
    );
    // The background is opaque, so the premultiplied pixels are the plain RGBA values.
    let rgba: Vec<u8> = pixmap
        .pixels()
        .iter()
        .flat_map(|p| {
            let c = p.demultiply();
            [c.red(), c.green(), c.blue(), c.alpha()]
        })
        .collect();
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, size.width(), size.height());
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder
        .add_text_chunk("Software".to_owned(), mark.to_owned())
        .context("cannot mark the PNG")?;
    let mut writer = encoder.write_header().context("cannot encode the PNG")?;
    writer
        .write_image_data(&rgba)
        .context("cannot encode the PNG")?;
    writer.finish().context("cannot encode the PNG")?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_becomes_a_marked_png_of_twice_its_size() {
        let svg = r##"<svg width="120" height="40" viewBox="0 0 120 40" xmlns="http://www.w3.org/2000/svg">
            <rect x="0" y="0" width="60" height="40" fill="#D62728"/>
            <text x="62" y="25" font-family="sans-serif" font-size="14">Text</text></svg>"##;
        let bytes = svg_to_png(svg, "<!-- test mark -->").unwrap();
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
        let decoder = png::Decoder::new(std::io::Cursor::new(&bytes));
        let mut reader = decoder.read_info().unwrap();
        let info = reader.info();
        assert_eq!((info.width, info.height), (240, 80));
        assert!(
            info.uncompressed_latin1_text
                .iter()
                .any(|t| t.keyword == "Software" && t.text == "<!-- test mark -->"),
            "the mark chunk is missing"
        );
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut pixels).unwrap();
        let at = |x: usize, y: usize| &pixels[(y * 240 + x) * 4..(y * 240 + x) * 4 + 4];
        assert_eq!(
            at(10, 10),
            [0xD6, 0x27, 0x28, 0xFF],
            "the rectangle is drawn"
        );
        // The word is drawn with the compiled-in face: some pixel right of the rectangle is dark.
        let inked = (124..240)
            .flat_map(|x| (0..80).map(move |y| (x, y)))
            .any(|(x, y)| at(x, y)[0] < 128);
        assert!(inked, "the text was not drawn: no font?");
    }
}
