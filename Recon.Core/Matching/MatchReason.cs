namespace Recon.Core.Matching;

/// <summary>
/// Why a provider transaction got its verdict: a closed set ordered by precedence. When several problems apply to the
/// deciding candidate, the one listed first is reported (TigerBeetle-style result codes), so a reader sees the most
/// important fault, not an arbitrary one. Rendered as its name in <see cref="MatchResult.Reason"/>.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1028:Enum storage should be Int32", Justification = "one byte keeps the matcher's pair at 24 bytes with the score's parts")]
public enum MatchReason : byte
{
    /// <summary>Every check passed and the score reached the confirm threshold.</summary>
    Matched = 0,

    /// <summary>The same (provider, provider id) appeared before in the input: flagged, never matched twice.</summary>
    DuplicateProviderTransaction,

    /// <summary>Two identical payments (different ids, same amount, date and references) claim one ledger entry.</summary>
    DuplicatePayment,

    /// <summary>Two or more candidates tied on score: a person decides.</summary>
    Ambiguous,

    /// <summary>Currencies differ and no conversion rule brings the amounts within tolerance.</summary>
    CurrencyMismatch,

    /// <summary>The best candidate's amount is outside the rule's tolerance.</summary>
    AmountOutsideTolerance,

    /// <summary>The best candidate's value date is outside the rule's window.</summary>
    DateOutsideWindow,

    /// <summary>Every candidate went to a transaction that scored higher.</summary>
    CandidateTaken,

    /// <summary>The ledger entry names the provider transaction it expects (<c>external_ref</c>) and this one carries
    /// neither that id nor a typo of it: without an exact key it is another transaction's entry, proposed at most.</summary>
    LedgerExpectsOtherTransaction,

    /// <summary>A reference one typo from the ledger's (not a swap) with an amount that is not exactly equal: in numbered
    /// references that is as likely a neighbouring document (INV-…453 against INV-…457) as ours mistyped, so it is
    /// proposed, not matched.</summary>
    TypoNeedsExactAmount,

    /// <summary>Within every tolerance but the evidence (key, amount, date) scores under the confirm threshold.</summary>
    BelowConfirmThreshold,

    /// <summary>Nothing in the ledger came close enough to propose.</summary>
    NoCandidate,

    /// <summary>A person matched it (<c>ReconciliationStore.ManualMatchAsync</c>).</summary>
    ManualMatch,

    /// <summary>A person undid a match (<c>ReconciliationStore.UnmatchAsync</c>).</summary>
    ManualUnmatch,
}

/// <summary>Names of the rules that decide a result, as written to <c>reconciliation_results.rule</c>.</summary>
public static class MatchRuleNames
{
    /// <summary>Ledger <c>external_ref</c> equals the provider id, or its bank reference (Stripe's source id: the charge, refund or payout).</summary>
    public const string ExternalRef = "external_ref";

    /// <summary>Ledger <c>reference</c> equals the provider's end-to-end id.</summary>
    public const string EndToEndId = "end_to_end_id";

    /// <summary>Ledger <c>reference</c> equals the provider's bank reference.</summary>
    public const string Reference = "reference";

    /// <summary>A reference one edit (typo) away from a ledger reference, amount and date agreeing.</summary>
    public const string ReferenceFuzzy = "reference_fuzzy";

    /// <summary>A long reference with two adjacent characters swapped, amount and date agreeing.</summary>
    public const string ReferenceTransposed = "reference_transposed";

    /// <summary>No key: amount and value date only (never enough to confirm on its own).</summary>
    public const string AmountDate = "amount_date";

    /// <summary>One provider transaction against every ledger entry sharing its reference (payout, deposit, gross + fee pair).</summary>
    public const string GroupOneToMany = "group_1n_reference";

    /// <summary>Several provider transactions (partial payments, a payout's charges) against one ledger entry.</summary>
    public const string GroupManyToOne = "group_n1_reference";

    /// <summary>A bounded subset-sum search: two or three ledger entries in the window adding up to the provider amount.</summary>
    public const string AmountSum = "amount_sum";

    /// <summary>The provider transaction repeated an earlier one.</summary>
    public const string Duplicate = "duplicate";

    /// <summary>No rule applied.</summary>
    public const string None = "none";

    /// <summary>A person decided.</summary>
    public const string Manual = "manual";

    /// <summary>Suffix when the provider amount net of its fee was compared.</summary>
    public const string NetSuffix = "+net";

    /// <summary>Suffix when the provider amount was converted into the ledger currency.</summary>
    public const string ConvertedSuffix = "+fx";
}
