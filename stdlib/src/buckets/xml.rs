//! A small XML reader for the few S3 and Azure responses the collector
//! reads (`<AccessControlPolicy>`, `<VersioningConfiguration>`, `<Error>`,
//! …): elements, their text and the five predefined entities plus
//! numeric character references. Attributes, comments, processing
//! instructions and CDATA markers are skipped; namespace prefixes are
//! dropped from names. These documents are a few KiB of machine-written
//! XML, so a full parser (quick-xml) would buy nothing the tests can see;
//! depth and element count are bounded for hostile input.

/// An element: its local name, child elements and concatenated text.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Element {
    pub name: String,
    pub children: Vec<Element>,
    pub text: String,
}

const MAX_DEPTH: usize = 32;
const MAX_ELEMENTS: usize = 20_000;

impl Element {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child named `name`.
    pub fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The trimmed text of the element at `path` below this one.
    pub fn text_at(&self, path: &[&str]) -> Option<&str> {
        let mut cur = self;
        for step in path {
            cur = cur.child(step)?;
        }
        Some(cur.text.trim())
    }
}

/// Parses a document into its root element.
pub fn parse(text: &str) -> Result<Element, String> {
    let mut stack: Vec<Element> = vec![Element::default()];
    let mut rest = text;
    let mut count = 0usize;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            push_text(&mut stack, rest)?;
            break;
        };
        let (before, after) = rest.split_at(lt);
        push_text(&mut stack, before)?;
        if let Some(body) = after.strip_prefix("<![CDATA[") {
            let end = body.find("]]>").ok_or("unterminated CDATA section")?;
            if let Some(top) = stack.last_mut() {
                top.text.push_str(body.get(..end).unwrap_or(""));
            }
            rest = body.get(end + 3..).unwrap_or("");
            continue;
        }
        if let Some(body) = after.strip_prefix("<!--") {
            let end = body.find("-->").ok_or("unterminated comment")?;
            rest = body.get(end + 3..).unwrap_or("");
            continue;
        }
        let end = after.find('>').ok_or("unterminated tag")?;
        let tag = after.get(1..end).unwrap_or("");
        rest = after.get(end + 1..).unwrap_or("");
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let done = stack.pop().ok_or("unbalanced closing tag")?;
            if done.name != local_name(name.trim()) || stack.is_empty() {
                return Err(format!("unexpected closing tag `</{}>`", name.trim()));
            }
            if let Some(parent) = stack.last_mut() {
                parent.children.push(done);
            }
            continue;
        }
        count += 1;
        if count > MAX_ELEMENTS || stack.len() > MAX_DEPTH {
            return Err("document too large or too deep".to_string());
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let name = local_name(tag.split(|c: char| c.is_ascii_whitespace()).next().unwrap_or(""));
        let element = Element { name: name.to_string(), ..Element::default() };
        if self_closing {
            if let Some(parent) = stack.last_mut() {
                parent.children.push(element);
            }
        } else {
            stack.push(element);
        }
    }
    if stack.len() != 1 {
        return Err("unclosed element".to_string());
    }
    stack.pop().and_then(|doc| doc.children.into_iter().next()).ok_or_else(|| "no root element".to_string())
}

fn local_name(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

fn push_text(stack: &mut [Element], raw: &str) -> Result<(), String> {
    if raw.is_empty() {
        return Ok(());
    }
    let decoded = decode_entities(raw)?;
    if let Some(top) = stack.last_mut() {
        top.text.push_str(&decoded);
    }
    Ok(())
}

fn decode_entities(raw: &str) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(rest.get(..amp).unwrap_or(""));
        let after = rest.get(amp + 1..).unwrap_or("");
        let semi = after.find(';').ok_or("unterminated entity")?;
        let entity = after.get(..semi).unwrap_or("");
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(h) = entity.strip_prefix("#x").or_else(|| entity.strip_prefix("#X")) {
                    u32::from_str_radix(h, 16).ok()
                } else {
                    entity.strip_prefix('#').and_then(|d| d.parse().ok())
                };
                code.and_then(char::from_u32).ok_or_else(|| format!("unknown entity `&{entity};`"))?
            }
        };
        out.push(c);
        rest = after.get(semi + 1..).unwrap_or("");
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_acl() {
        let doc = parse(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>abc</ID></Owner>
<AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group">
<URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>
<Grant><Grantee xsi:type="CanonicalUser"><ID>abc</ID><DisplayName/></Grantee><Permission>FULL_CONTROL</Permission></Grant>
</AccessControlList></AccessControlPolicy>"#,
        )
        .unwrap();
        assert_eq!(doc.name, "AccessControlPolicy");
        let grants: Vec<_> = doc.child("AccessControlList").unwrap().children("Grant").collect();
        assert_eq!(grants.len(), 2);
        assert_eq!(grants[0].text_at(&["Grantee", "URI"]), Some("http://acs.amazonaws.com/groups/global/AllUsers"));
        assert_eq!(grants[1].text_at(&["Permission"]), Some("FULL_CONTROL"));
        assert_eq!(grants[1].text_at(&["Grantee", "DisplayName"]), Some(""));
    }

    #[test]
    fn entities_and_errors() {
        let doc = parse("<a>x &amp; &lt;y&gt; &#65;&#x42;<![CDATA[<z>]]></a>").unwrap();
        assert_eq!(doc.text, "x & <y> AB<z>");
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("<a>").is_err());
        assert!(parse("<a>&bogus;</a>").is_err());
        assert!(parse(&"<a>".repeat(100)).is_err());
    }
}
