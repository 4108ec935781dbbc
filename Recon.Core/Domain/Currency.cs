namespace Recon.Core.Domain;

/// <summary>ISO 4217 codes and their minor-unit exponents. Money is always <c>long</c> minor units plus a code.</summary>
public static class Currency
{
    private static readonly Dictionary<string, int> Exponents = new(StringComparer.Ordinal)
    {
        // zero-decimal currencies (Stripe's list, the ones Recon meets); everything else not listed uses 2
        ["JPY"] = 0, ["KRW"] = 0, ["VND"] = 0, ["CLP"] = 0, ["ISK"] = 0, ["HUF"] = 2,
        // three-decimal
        ["BHD"] = 3, ["KWD"] = 3, ["OMR"] = 3, ["JOD"] = 3, ["TND"] = 3,
    };

    /// <summary>True for three upper-case ASCII letters.</summary>
    public static bool IsValidCode(string? code)
        => code is { Length: 3 } && code.All(c => c is >= 'A' and <= 'Z');

    /// <summary>Upper-cases and validates; throws <see cref="FormatException"/> naming the bad value.</summary>
    public static string Normalize(string? code)
    {
        var upper = code?.Trim().ToUpperInvariant();
        return IsValidCode(upper) ? upper! : throw new FormatException($"'{code}' is not an ISO 4217 currency code (three letters).");
    }

    /// <summary>Digits after the decimal point for <paramref name="code"/> (2 unless known otherwise).</summary>
    public static int MinorUnitExponent(string code) => Exponents.TryGetValue(code, out var e) ? e : 2;
}
