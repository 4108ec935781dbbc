namespace Recon.Core.Ingestion.Statements;

/// <summary>
/// Hands out provider transaction ids that are unique within one file: a repeat of a key gets <c>#2</c>, <c>#3</c>…
/// in file order, so re-reading the same file yields the same ids (upsert, not duplicate).
/// </summary>
internal sealed class ProviderTxIds
{
    private readonly Dictionary<string, int> _seen = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _sequences = new(StringComparer.Ordinal);

    public string Unique(string key)
    {
        var n = _seen.TryGetValue(key, out var count) ? count + 1 : 1;
        _seen[key] = n;
        return n == 1 ? key : $"{key}#{n}";
    }

    /// <summary>Next 1-based number for a scope such as account + date, for entries that carry no bank reference.</summary>
    public int Next(string scope)
    {
        var n = _sequences.TryGetValue(scope, out var count) ? count + 1 : 1;
        _sequences[scope] = n;
        return n;
    }
}
