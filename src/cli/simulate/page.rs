//! One report written twice: as Markdown (report.md) and as a self-contained HTML page
//! (report.html, charts inlined as SVG so the file can be mailed or archived alone).

use std::fmt::Write as _;

pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: Vec<String>) -> Self {
        Self {
            header,
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }
}

enum Block {
    Heading(String),
    Facts(Vec<(String, String)>),
    Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    Chart {
        file: String,
        svg: String,
    },
    Paragraph(String),
}

pub struct Page {
    title: String,
    blocks: Vec<Block>,
}

impl Page {
    pub fn new(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            blocks: Vec::new(),
        }
    }

    pub fn heading(&mut self, text: &str) {
        self.blocks.push(Block::Heading(text.to_owned()));
    }

    pub fn facts(&mut self, facts: &[(&str, String)]) {
        self.blocks.push(Block::Facts(
            facts
                .iter()
                .map(|(name, value)| ((*name).to_owned(), value.clone()))
                .collect(),
        ));
    }

    pub fn table(&mut self, table: &Table) {
        self.blocks.push(Block::Table {
            header: table.header.clone(),
            rows: table.rows.clone(),
        });
    }

    pub fn chart(&mut self, file: &str, svg: &str) {
        self.blocks.push(Block::Chart {
            file: file.to_owned(),
            svg: svg.to_owned(),
        });
    }

    pub fn paragraph(&mut self, text: &str) {
        self.blocks.push(Block::Paragraph(text.to_owned()));
    }

    pub fn markdown(&self) -> String {
        let mut md = format!("# {}\n\n", self.title);
        for block in &self.blocks {
            match block {
                Block::Heading(text) => {
                    let _ = write!(md, "## {text}\n\n");
                }
                Block::Facts(facts) => {
                    for (name, value) in facts {
                        let _ = writeln!(md, "- **{name}**: {value}");
                    }
                    md.push('\n');
                }
                Block::Table { header, rows } => {
                    let _ = writeln!(md, "| {} |", header.join(" | "));
                    let _ = writeln!(md, "|{}", "---|".repeat(header.len()));
                    for row in rows {
                        let _ = writeln!(md, "| {} |", row.join(" | "));
                    }
                    md.push('\n');
                }
                Block::Chart { file, .. } => {
                    let _ = write!(md, "![{file}]({file})\n\n");
                }
                Block::Paragraph(text) => {
                    let _ = write!(md, "{text}\n\n");
                }
            }
        }
        md
    }

    pub fn html(&self) -> String {
        let mut html =
            String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        let _ = writeln!(html, "<title>{}</title>", escape(&self.title));
        html.push_str(
            "<style>\nbody{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}\n\
             table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}\n\
             th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}\n\
             figure{margin:1.5em 0}svg{max-width:100%;height:auto}\n</style>\n</head>\n<body>\n",
        );
        let _ = writeln!(html, "<h1>{}</h1>", escape(&self.title));
        for block in &self.blocks {
            match block {
                Block::Heading(text) => {
                    let _ = writeln!(html, "<h2>{}</h2>", escape(text));
                }
                Block::Facts(facts) => {
                    html.push_str("<ul>\n");
                    for (name, value) in facts {
                        let _ =
                            writeln!(html, "<li><b>{}</b>: {}</li>", escape(name), escape(value));
                    }
                    html.push_str("</ul>\n");
                }
                Block::Table { header, rows } => {
                    html.push_str("<table>\n<tr>");
                    for cell in header {
                        let _ = write!(html, "<th>{}</th>", escape(cell));
                    }
                    html.push_str("</tr>\n");
                    for row in rows {
                        html.push_str("<tr>");
                        for cell in row {
                            let _ = write!(html, "<td>{}</td>", escape(cell));
                        }
                        html.push_str("</tr>\n");
                    }
                    html.push_str("</table>\n");
                }
                Block::Chart { file, svg } => {
                    let _ = writeln!(
                        html,
                        "<figure>\n{}\n<figcaption>{}</figcaption>\n</figure>",
                        svg.trim(),
                        escape(file)
                    );
                }
                Block::Paragraph(text) => {
                    let _ = writeln!(html, "<p>{}</p>", escape(text));
                }
            }
        }
        html.push_str("</body>\n</html>\n");
        html
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
