//! One report written twice: as Markdown (report.md) and as a self-contained HTML page
//! (report.html, charts inlined as SVG so the file can be mailed or archived alone).

use std::fmt::Write as _;

use maud::{DOCTYPE, PreEscaped, html};

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
        let page = html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    title { (self.title) }
                    style { (PreEscaped(PAGE_CSS)) }
                }
                body {
                    h1 { (self.title) }
                    @for block in &self.blocks {
                        @match block {
                            Block::Heading(text) => h2 { (text) },
                            Block::Facts(facts) => ul {
                                @for (name, value) in facts { li { b { (name) } ": " (value) } }
                            },
                            Block::Table { header, rows } => table {
                                tr { @for cell in header { th { (cell) } } }
                                @for row in rows { tr { @for cell in row { td { (cell) } } } }
                            },
                            // The chart is the lab's own SVG, inlined as markup.
                            Block::Chart { file, svg } => figure {
                                (PreEscaped(svg.trim()))
                                figcaption { (file) }
                            },
                            Block::Paragraph(text) => p { (text) },
                        }
                    }
                }
            }
        };
        let mut out = page.into_string();
        out.push('\n');
        out
    }
}

/// The page's style sheet, inline so the report is one file.
const PAGE_CSS: &str = "body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}\
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}\
figure{margin:1.5em 0}svg{max-width:100%;height:auto}";
