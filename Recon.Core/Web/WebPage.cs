using System.Collections.Frozen;
using System.Security.Cryptography;

namespace Recon.Core.Web;

/// <summary>One file of the web page: its bytes, content type and a strong etag of the bytes.</summary>
public sealed record WebAsset(string Name, string ContentType, byte[] Content, string ETag);

/// <summary>
/// The web page (runs overview, review queue, balance proof, audit trail): plain HTML, CSS and JavaScript embedded in
/// Recon.Core, so Recon.Worker (at <c>/</c> and <see cref="Path"/>) and the Functions app (at <see cref="Path"/>) serve the
/// same bytes. The page calls the same <c>/api/...</c> endpoints as any client, with the key the user gives it.
/// </summary>
/// <remarks>The page itself holds no data and needs no key; every call it makes does (see README "Web page").</remarks>
public static class WebPage
{
    /// <summary>Where both hosts serve the page; its files are under it (<c>/api/ui/app.js</c>).</summary>
    public const string Path = "/api/ui";

    /// <summary>Headers both hosts send with every file: no caching of a stale page after an upgrade, no sniffing, no
    /// framing, and scripts, styles and calls from this origin only.</summary>
    public static IReadOnlyDictionary<string, string> Headers { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Cache-Control"] = "no-cache",
        ["X-Content-Type-Options"] = "nosniff",
        ["Content-Security-Policy"] = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ["Referrer-Policy"] = "no-referrer",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly FrozenDictionary<string, WebAsset> Assets = Load();

    /// <summary>The file named <paramref name="name"/> (<c>app.js</c>), the page itself for null or empty, or null for a
    /// name the page does not have.</summary>
    public static WebAsset? Find(string? name)
        => Assets.GetValueOrDefault(string.IsNullOrEmpty(name) ? "index.html" : name);

    /// <summary>Every file's name.</summary>
    public static IEnumerable<string> Names => Assets.Keys;

    private static FrozenDictionary<string, WebAsset> Load()
    {
        const string prefix = "Recon.Web.";
        var assembly = typeof(WebPage).Assembly;
        var assets = new Dictionary<string, WebAsset>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            var name = resource[prefix.Length..];
            assets[name] = new WebAsset(name, ContentTypeOf(name), bytes, $"\"{Convert.ToHexStringLower(SHA256.HashData(bytes))[..32]}\"");
        }
        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static string ContentTypeOf(string name) => System.IO.Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".svg" => "image/svg+xml",
        _ => "application/octet-stream",
    };
}
