pub mod diagnostic;
pub mod syntax {
    pub mod ast;
    pub mod lexer;
    pub mod parser;
    pub use parser::{parse_item, split_items, Parse};
}
pub mod builtins;
pub mod check;
pub mod db;
pub mod eval;
pub mod fmt;
pub mod types;
pub mod value;
