namespace Recon.Core.Matching;

/// <summary>
/// Normalised name tokens for counterparty evidence: upper case, letters and digits only, legal suffixes dropped, so
/// "Hooli, Inc." and "HOOLI PAYMENT" share the token HOOLI.
/// </summary>
/// <remarks>Tokens of two characters or fewer are dropped too: they are initials or noise ("TO", "BY") and would make
/// unrelated names look alike. Pure string work, no culture: the upper-casing is invariant.</remarks>
public static class CounterpartyNames
{
    // Legal forms say what kind of company it is, not which one: "Acme Corp" and "Globex Corp" share nothing.
    private static readonly HashSet<string> LegalSuffixes = new(StringComparer.Ordinal)
    {
        "INC", "LLC", "LTD", "LIMITED", "CORP", "CORPORATION", "CO", "COMPANY", "PLC", "GMBH", "AG", "SA", "SAS", "SARL",
        "BV", "NV", "AB", "AS", "OY", "SPA", "SRL", "KG", "LLP", "LP", "PTY", "PTE", "KK", "THE", "AND",
    };

    /// <summary>The distinct significant tokens of <paramref name="text"/> (empty when none).</summary>
    public static string[] Tokens(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }
        List<string>? tokens = null;
        var span = text.AsSpan();
        Span<char> buffer = stackalloc char[64];
        var i = 0;
        while (i < span.Length)
        {
            while (i < span.Length && !char.IsLetterOrDigit(span[i]))
            {
                i++;
            }
            var n = 0;
            while (i < span.Length && (char.IsLetterOrDigit(span[i]) || span[i] is '\'' or '.' or '&'))
            {
                // "O'Brien" and "S.A." stay one word: the apostrophe and dots are punctuation inside a name
                if (char.IsLetterOrDigit(span[i]) && n < buffer.Length)
                {
                    buffer[n++] = char.ToUpperInvariant(span[i]);
                }
                i++;
            }
            if (n > 2)
            {
                var token = new string(buffer[..n]);
                if (!LegalSuffixes.Contains(token))
                {
                    tokens ??= [];
                    if (!tokens.Contains(token))
                    {
                        tokens.Add(token);
                    }
                }
            }
        }
        return tokens is null ? [] : [.. tokens];
    }

    /// <summary><paramref name="max"/> times the share of <paramref name="name"/>'s tokens found in <paramref name="text"/>
    /// (rounded down); 0 when the name has none.</summary>
    /// <remarks>A token counts when equal, or one edit away when both are at least 6 characters (a bank truncating or
    /// mistyping a long name); shorter tokens must be equal, or "ACME" would meet "ACNE".</remarks>
    public static int Score(string[] name, string[] text, int max)
    {
        if (name.Length == 0 || text.Length == 0)
        {
            return 0;
        }
        var found = 0;
        foreach (var t in name)
        {
            foreach (var u in text)
            {
                if (string.Equals(t, u, StringComparison.Ordinal)
                    || (t.Length >= 6 && u.Length >= 6 && MatchScoring.WithinOneEdit(t, u)))
                {
                    found++;
                    break;
                }
            }
        }
        return max * found / name.Length;
    }
}
