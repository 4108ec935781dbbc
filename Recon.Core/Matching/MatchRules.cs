using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Configuration;

namespace Recon.Core.Matching;

/// <summary>
/// The matcher's configuration: tolerances, window, thresholds and the limits that keep grouping bounded. Read from a
/// JSON rules file (<see cref="FromJson"/>, camelCase, unknown fields refused) or the <c>Recon:Matching</c>
/// configuration section (<see cref="FromConfiguration"/>).
/// </summary>
/// <remarks>
/// Every tolerance is in minor units of one currency: the minor and basis-point tolerances are both turned into minor
/// units of the ledger amount before they are compared, and a converted amount has its own tolerance in the ledger
/// currency, so units are never mixed.
/// </remarks>
public sealed class MatchRules
{
    /// <summary>Score (0..1000) at or above which a candidate is <c>matched</c>.</summary>
    public int ConfirmThreshold { get; set; } = 900;

    /// <summary>Score at or above which a candidate is <c>proposed</c>; below it the transaction is <c>unmatched</c>.</summary>
    public int ProposeThreshold { get; set; } = 300;

    /// <summary>Absolute amount tolerance in minor units of the ledger currency.</summary>
    public long AmountToleranceMinor { get; set; } = 100;

    /// <summary>Relative amount tolerance in basis points of the ledger amount; the larger of the two tolerances applies.</summary>
    public int AmountToleranceBasisPoints { get; set; } = 10;

    /// <summary>Value dates may differ by at most this many days (business days when <see cref="BusinessDays"/>).</summary>
    public int DateWindowDays { get; set; } = 3;

    /// <summary>Count only Monday..Friday in the window, so a Saturday booking settling on Monday is one day late.</summary>
    public bool BusinessDays { get; set; } = true;

    /// <summary>Also compare the provider amount net of its fee (Stripe charges booked net in the ledger).</summary>
    public bool FeeNetting { get; set; } = true;

    /// <summary>Compare references one typo apart (for references of at least <see cref="MinFuzzyReferenceLength"/> characters).</summary>
    public bool FuzzyReferences { get; set; } = true;

    /// <summary>Shorter references have too many one-edit neighbours to treat a near miss as evidence.</summary>
    public int MinFuzzyReferenceLength { get; set; } = 6;

    /// <summary>Conversions allowed between currencies; without one, a currency difference is never matched.</summary>
    public List<CurrencyConversion> Conversions { get; set; } = [];

    /// <summary>A 1:N or N:1 group larger than this is not formed: a Stripe payout holds thousands of charges at most, more means a broken reference.</summary>
    public int MaxGroupMembers { get; set; } = 10_000;

    /// <summary>At most this many ledger entries sharing one key are scored one by one (a shared reference with more is a group or noise).</summary>
    public int MaxCandidatesPerKey { get; set; } = 32;

    /// <summary>At most this many amount/date neighbours are scored per transaction, so a busy bucket cannot make matching quadratic.</summary>
    public int MaxBucketCandidates { get; set; } = 24;

    /// <summary>Search for two or three ledger entries adding up to an unexplained provider amount (results are only proposed).</summary>
    public bool AmountSumSearch { get; set; } = true;

    /// <summary>Entries in one amount-sum search: C(12,2)+C(12,3) = 286 sums per transaction at most.</summary>
    public int MaxSubsetCandidates { get; set; } = 12;

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        PropertyNameCaseInsensitive = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Parses a rules file; throws <see cref="FormatException"/> naming the bad field.</summary>
    public static MatchRules FromJson(string json)
    {
        MatchRules? rules;
        try
        {
            rules = JsonSerializer.Deserialize<MatchRules>(json, JsonOptions);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"rules file: {ex.Message}", ex);
        }
        if (rules is null)
        {
            throw new FormatException("rules file: expected a JSON object");
        }
        rules.Validate();
        return rules;
    }

    /// <summary>Binds a configuration section (e.g. <c>Recon:Matching</c>) over the defaults.</summary>
    public static MatchRules FromConfiguration(IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        var rules = new MatchRules();
        section.Bind(rules);
        rules.Validate();
        return rules;
    }

    /// <summary>Throws <see cref="FormatException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        Require(ConfirmThreshold is > 0 and <= 1000, "confirmThreshold must be 1..1000");
        Require(ProposeThreshold >= 0 && ProposeThreshold <= ConfirmThreshold, "proposeThreshold must be 0..confirmThreshold");
        Require(AmountToleranceMinor >= 0, "amountToleranceMinor must not be negative");
        Require(AmountToleranceBasisPoints is >= 0 and <= 10_000, "amountToleranceBasisPoints must be 0..10000");
        Require(DateWindowDays is >= 0 and <= 366, "dateWindowDays must be 0..366");
        Require(MinFuzzyReferenceLength >= 2, "minFuzzyReferenceLength must be at least 2");
        Require(MaxGroupMembers is >= 2 and <= 1_000_000, "maxGroupMembers must be 2..1000000");
        Require(MaxCandidatesPerKey is >= 1 and <= 10_000, "maxCandidatesPerKey must be 1..10000");
        Require(MaxBucketCandidates is >= 1 and <= 10_000, "maxBucketCandidates must be 1..10000");
        Require(MaxSubsetCandidates is >= 2 and <= 24, "maxSubsetCandidates must be 2..24 (the search is cubic in it)");
        foreach (var c in Conversions)
        {
            Require(Domain.Currency.IsValidCode(c.From) && Domain.Currency.IsValidCode(c.To) && c.From != c.To,
                $"conversion {c.From}->{c.To}: from and to must be two different ISO 4217 codes");
            Require(c.RateMicros > 0, $"conversion {c.From}->{c.To}: rateMicros must be positive");
            Require(c.ToleranceBasisPoints is >= 0 and <= 10_000, $"conversion {c.From}->{c.To}: toleranceBasisPoints must be 0..10000");
        }
    }

    /// <summary>Tolerance in minor units for a ledger amount: the larger of the absolute and the relative tolerance.</summary>
    public long ToleranceFor(long ledgerAmountMinor)
        => Math.Max(AmountToleranceMinor, BasisPointsOf(ledgerAmountMinor, AmountToleranceBasisPoints));

    internal static long BasisPointsOf(long amountMinor, int basisPoints)
    {
        // A 64x64-bit multiply gives the exact product; Int128 arithmetic (software division) is kept for the products
        // that do not fit 64 bits (|long.MinValue| * 10000 overflows a long). Both truncate the same non-negative quotient.
        if (amountMinor != long.MinValue && basisPoints >= 0)
        {
            var high = Math.BigMul((ulong)Math.Abs(amountMinor), (ulong)basisPoints, out var low);
            if (high == 0)
            {
                return (long)(low / 10_000);
            }
        }
        var abs = Int128.Abs(amountMinor);
        return (long)(abs * basisPoints / 10_000);
    }

    private static void Require(bool ok, string message)
    {
        if (!ok)
        {
            throw new FormatException($"rules: {message}");
        }
    }
}

/// <summary>A converted comparison the rules allow: one unit of <see cref="From"/> is <see cref="RateMicros"/> / 1,000,000 units of <see cref="To"/>.</summary>
/// <remarks>An integer rate in millionths keeps money out of floating point; the reverse direction uses the same rate inverted.</remarks>
public sealed class CurrencyConversion
{
    public string From { get; set; } = "";

    public string To { get; set; } = "";

    /// <summary>Units of <see cref="To"/> per unit of <see cref="From"/>, times 1,000,000.</summary>
    public long RateMicros { get; set; }

    /// <summary>Tolerance of the converted amount, in basis points of the ledger amount (in the ledger currency).</summary>
    public int ToleranceBasisPoints { get; set; } = 50;

    /// <summary>Converts <paramref name="amountMinor"/> in <paramref name="fromCurrency"/> into minor units of the other side, rounding half away from zero.</summary>
    public long Convert(long amountMinor, string fromCurrency)
    {
        var forward = string.Equals(fromCurrency, From, StringComparison.Ordinal);
        var src = forward ? From : To;
        var dst = forward ? To : From;
        var scaleSrc = Pow10(Domain.Currency.MinorUnitExponent(src));
        var scaleDst = Pow10(Domain.Currency.MinorUnitExponent(dst));
        Int128 numerator = forward
            ? (Int128)amountMinor * RateMicros * scaleDst
            : (Int128)amountMinor * 1_000_000 * scaleDst;
        Int128 denominator = forward ? (Int128)scaleSrc * 1_000_000 : (Int128)scaleSrc * RateMicros;
        var q = Int128.DivRem(numerator, denominator);
        var twice = Int128.Abs(q.Remainder) * 2;
        var result = q.Quotient;
        if (twice >= denominator)
        {
            result += numerator < 0 ? -1 : 1;
        }
        return (long)result;
    }

    private static long Pow10(int e)
    {
        long p = 1;
        for (var i = 0; i < e; i++)
        {
            p *= 10;
        }
        return p;
    }
}
