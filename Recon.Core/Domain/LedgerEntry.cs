namespace Recon.Core.Domain;

/// <summary>An entry in the internal ledger, the side Recon reconciles provider transactions against.</summary>
/// <param name="Id">Ledger entry id.</param>
/// <param name="Account">Ledger account the entry belongs to.</param>
/// <param name="AmountMinor">Signed amount in minor units (money in positive).</param>
/// <param name="Currency">ISO 4217 code, upper case.</param>
/// <param name="ValueDate">Expected value date.</param>
/// <param name="Reference">Our payment reference (invoice number, wire reference, end-to-end id we sent).</param>
/// <param name="ExternalRef">The provider id we expect this entry to match, when the ledger knows it (e.g. a Stripe charge id).</param>
/// <param name="Counterparty">Who paid or was paid.</param>
/// <param name="Description">Free text.</param>
public sealed record LedgerEntry(
    string Id,
    string Account,
    long AmountMinor,
    string Currency,
    DateOnly ValueDate,
    string? Reference,
    string? ExternalRef,
    string? Counterparty,
    string? Description);
