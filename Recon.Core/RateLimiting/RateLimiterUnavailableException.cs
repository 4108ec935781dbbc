namespace Recon.Core.RateLimiting;

/// <summary>
/// The token bucket could not be asked (Redis unreachable or timing out). Provider calls are then not made: the
/// limiter fails closed, because calling without a token is how retry storms and 429s start.
/// </summary>
/// <remarks>Transient by nature: the activity fails, its retry policy tries again, and work resumes once Redis answers.</remarks>
public sealed class RateLimiterUnavailableException(string message, Exception? innerException)
    : Exception(message, innerException);
