//! Byte limits on what upstream sends (SPEC §10): a page's body and a directory's pages
//! together, enforced while the body streams in, so an oversized answer is never held whole.

use reqwest::header::CONTENT_LENGTH;

/// The default most bytes of one page's body: 32 MiB.
pub const DEFAULT_MAX_PAGE_BYTES: u64 = 32 * 1024 * 1024;
/// The default most bytes of one directory's pages together: 512 MiB.
pub const DEFAULT_MAX_DIRECTORY_BYTES: u64 = 512 * 1024 * 1024;

/// Which limit an answer went over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exceeded {
    /// One page's body was larger than this many bytes.
    Page(u64),
    /// The directory's pages together were larger than this many bytes.
    Directory(u64),
}

impl std::fmt::Display for Exceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Page(limit) => write!(f, "a page is larger than the {limit}-byte page limit"),
            Self::Directory(limit) => {
                write!(
                    f,
                    "its pages are larger than the {limit}-byte directory limit"
                )
            }
        }
    }
}

/// The page and directory limits of a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BodyLimits {
    pub(crate) page: u64,
    pub(crate) directory: u64,
}

impl Default for BodyLimits {
    fn default() -> Self {
        Self {
            page: DEFAULT_MAX_PAGE_BYTES,
            directory: DEFAULT_MAX_DIRECTORY_BYTES,
        }
    }
}

impl BodyLimits {
    /// The limit of the next page when the directory's pages read so far hold `read` bytes:
    /// the page limit, or what is left of the directory's, whichever is smaller.
    pub(crate) fn next_page(&self, read: usize) -> PageLimit {
        let left = self.directory.saturating_sub(read as u64);
        if left < self.page {
            PageLimit {
                bytes: left,
                exceeded: Exceeded::Directory(self.directory),
            }
        } else {
            PageLimit {
                bytes: self.page,
                exceeded: Exceeded::Page(self.page),
            }
        }
    }
}

/// The most bytes a page's body may have, and which limit that is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PageLimit {
    bytes: u64,
    exceeded: Exceeded,
}

/// Why a body was not read whole.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// The connection failed while it was read.
    Transport(reqwest::Error),
    /// It was (or said it would be) larger than its limit; what came in so far is dropped.
    TooLarge(Exceeded),
}

/// Reads `response`'s body chunk by chunk, refusing it as soon as it is larger than `limit`
/// (at once when its `Content-Length` says so), so memory never holds more than the limit.
pub(crate) async fn read_body(
    mut response: reqwest::Response,
    limit: PageLimit,
) -> Result<Vec<u8>, BodyError> {
    let declared = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit.bytes) {
        return Err(BodyError::TooLarge(limit.exceeded));
    }
    // Trust a declared length only as far as the limit: it sizes the buffer once.
    let mut body = Vec::with_capacity(declared.unwrap_or(0).min(limit.bytes) as usize);
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if (body.len() + chunk.len()) as u64 > limit.bytes {
            return Err(BodyError::TooLarge(limit.exceeded));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_gets_the_page_limit_until_the_directory_has_less_left() {
        let limits = BodyLimits {
            page: 100,
            directory: 250,
        };
        assert_eq!(limits.next_page(0).bytes, 100);
        assert_eq!(limits.next_page(0).exceeded, Exceeded::Page(100));
        assert_eq!(limits.next_page(150).bytes, 100);
        assert_eq!(limits.next_page(200).bytes, 50);
        assert_eq!(limits.next_page(200).exceeded, Exceeded::Directory(250));
        assert_eq!(limits.next_page(300).bytes, 0);
    }
}
