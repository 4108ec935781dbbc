namespace Recon.Core.Hosting;

/// <summary>
/// A <see cref="HostReply.Body"/> that is not JSON: both hosts set <see cref="ContentType"/> (and an attachment
/// <see cref="FileName"/>) and hand the response stream to <see cref="WriteAsync"/>, which writes as it reads — an export
/// of a million results is never held in memory.
/// </summary>
/// <remarks>The status code is sent before the first byte: a failure half way cuts the stream short (the client sees a
/// truncated file and a failed transfer), it cannot turn into a 500.</remarks>
public sealed record StreamedBody(string ContentType, string? FileName, Func<Stream, CancellationToken, Task> WriteAsync);
