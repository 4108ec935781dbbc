using Recon.Core.Domain;

namespace Recon.Core.Ingestion.Statements;

/// <summary>Decimal amount text ↔ minor units by digit arithmetic, never through <c>double</c> or <c>decimal</c> rounding.</summary>
public static class MinorUnits
{
    /// <summary>
    /// Parses an unsigned decimal such as <c>1234.5</c> or <c>200.0000</c> into minor units of <paramref name="currency"/>.
    /// Returns null with <paramref name="error"/> set when the text is not a plain unsigned decimal, has non-zero
    /// digits beyond the currency's exponent, or does not fit a <c>long</c>.
    /// </summary>
    public static long? TryParseDecimal(string text, string currency, out string? error)
    {
        error = null;
        var exponent = Currency.MinorUnitExponent(currency);
        var s = text.Trim();
        var dot = s.IndexOf('.', StringComparison.Ordinal);
        var whole = dot < 0 ? s : s[..dot];
        var fraction = dot < 0 ? "" : s[(dot + 1)..];
        if (whole.Length == 0 || !whole.All(char.IsAsciiDigit) || !fraction.All(char.IsAsciiDigit) || (dot >= 0 && fraction.Length == 0))
        {
            error = $"'{text}' is not an unsigned decimal amount";
            return null;
        }
        if (fraction.Length > exponent)
        {
            if (fraction[exponent..].Any(c => c != '0'))
            {
                error = $"'{text}' has more than {exponent} decimal places, which {currency} does not have";
                return null;
            }
            fraction = fraction[..exponent];
        }
        var digits = whole + fraction.PadRight(exponent, '0');
        long value = 0;
        foreach (var c in digits)
        {
            // checked: a 20-digit amount must be refused, not wrapped into a wrong balance
            try
            {
                value = checked((value * 10) + (c - '0'));
            }
            catch (OverflowException)
            {
                error = $"'{text}' is too large";
                return null;
            }
        }
        return value;
    }

    /// <summary>Formats a non-negative minor amount as a decimal with the currency's exponent (<c>12345</c> EUR → <c>123.45</c>).</summary>
    public static string FormatDecimal(long minor, string currency)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minor);
        var exponent = Currency.MinorUnitExponent(currency);
        if (exponent == 0)
        {
            return minor.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        var digits = minor.ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(exponent + 1, '0');
        return $"{digits[..^exponent]}.{digits[^exponent..]}";
    }
}
