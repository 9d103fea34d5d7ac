//! Reads one image with an OCR engine and prints its lines and timing (development aid).
use interarec_vision::ocr::OcrChoice;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let engine_name = args.next().unwrap_or_else(|| "paddle".into());
    let engine = OcrChoice::parse(&engine_name).map_err(anyhow::Error::msg)?.load()?;
    for path in args {
        let bytes = std::fs::read(&path)?;
        let page = engine.read_bytes(&bytes)?;
        println!(
            "{path}: {} lines in {} ms by {}",
            page.lines.len(),
            page.millis,
            page.engine
        );
        for line in &page.lines {
            println!(
                "  {:>5.0},{:>4.0} {:.2} {}",
                line.bbox.x, line.bbox.y, line.confidence, line.text
            );
        }
    }
    Ok(())
}
