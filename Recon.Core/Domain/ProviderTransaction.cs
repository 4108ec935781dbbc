namespace Recon.Core.Domain;

/// <summary>Whether a provider still considers a transaction pending, has posted it, or has withdrawn it.</summary>
public enum ProviderTransactionStatus
{
    Posted,
    Pending,
    Removed,
}

/// <summary>
/// The one canonical shape of a transaction seen at a provider (Stripe balance transaction, Plaid transaction,
/// BAI2 detail, camt.053 entry detail). Amounts are signed minor units: credit to our account positive.
/// </summary>
/// <param name="Provider">One of <see cref="Providers"/>.</param>
/// <param name="ProviderTxId">The provider's own id, unique per provider; the idempotency key with <paramref name="Provider"/>.</param>
/// <param name="Account">Our account at the provider (Stripe account, Plaid account id, bank account number/IBAN).</param>
/// <param name="AmountMinor">Signed gross amount in minor units (credit positive, debit negative).</param>
/// <param name="FeeMinor">Fee the provider kept, in minor units, never negative; net = amount − fee.</param>
/// <param name="Currency">ISO 4217 code, upper case.</param>
/// <param name="BookingDate">Date the provider booked it, when known.</param>
/// <param name="ValueDate">Date the funds are available (value date); the matching date.</param>
/// <param name="BankReference">The provider's reference (BAI2 bank reference, camt AcctSvcrRef, Stripe source id).</param>
/// <param name="EndToEndId">End-to-end id carried through the payment chain, when present.</param>
/// <param name="Remittance">Remittance information / description text.</param>
/// <param name="GroupId">What the provider groups it under: a Stripe payout, a camt batch entry.</param>
/// <param name="Status">Posted, pending or removed.</param>
/// <param name="RawJson">The provider's payload as received, kept for audit (JSON; XML or text wrapped as a JSON string).</param>
public sealed record ProviderTransaction(
    string Provider,
    string ProviderTxId,
    string Account,
    long AmountMinor,
    long FeeMinor,
    string Currency,
    DateOnly? BookingDate,
    DateOnly ValueDate,
    string? BankReference,
    string? EndToEndId,
    string? Remittance,
    string? GroupId,
    ProviderTransactionStatus Status = ProviderTransactionStatus.Posted,
    string? RawJson = null)
{
    /// <summary>Amount after the provider's fee.</summary>
    public long NetMinor => AmountMinor - FeeMinor;
}
