//! The problem+json responses the admin API's operations share, by
//! status. Documentation only: the handlers answer with [`Problem`], which
//! these name; `#[utoipa::path]` annotations refer to them and the OpenAPI
//! document lists them under `components/responses`. A leaf: it imports
//! no handler, so handlers and the document can both import it.

use utoipa::ToResponse;

use crate::error::Problem;

/// The request is malformed: unparseable JSON, a bad query parameter or a bad `If-Match`.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub(crate) struct BadRequest(Problem);

/// No bearer token, or one that is invalid, expired or revoked.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"latchkey\"`"))
)]
#[allow(dead_code)]
pub(crate) struct Unauthorized(Problem);

/// The token lacks the scope this needs (`admin` for changes), or the target
/// is protected or declaratively managed and `force` was not given.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub(crate) struct Forbidden(Problem);

/// No such resource in this tenant.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub(crate) struct NotFound(Problem);

/// The change conflicts with the current state (a name taken, a resource still in use, a limit reached).
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub(crate) struct Conflict(Problem);

/// `If-Match` named a revision that is no longer current: read again and retry.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub(crate) struct PreconditionFailed(Problem);

/// The body is larger than 1 MiB.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub(crate) struct PayloadTooLarge(Problem);

/// The body is not `application/json`.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub(crate) struct UnsupportedMediaType(Problem);

/// One or more fields are invalid: `errors` lists each with a message.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub(crate) struct ValidationFailed(Problem);

/// A provider could not be reached or answered with something unusable; retry later.
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
#[allow(dead_code)]
pub(crate) struct BadGateway(Problem);

/// Over a rate limit (per caller or per source address): retry after `Retry-After` seconds.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    headers(("Retry-After" = u32, description = "Seconds to wait before retrying"))
)]
#[allow(dead_code)]
pub(crate) struct TooManyRequests(Problem);

/// The database cannot be reached, or every password hashing slot stayed taken: retry after `Retry-After` seconds.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    headers(("Retry-After" = u32, description = "Seconds to wait before retrying"))
)]
#[allow(dead_code)]
pub(crate) struct ServiceUnavailable(Problem);
