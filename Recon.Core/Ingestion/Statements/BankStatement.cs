using Recon.Core.Domain;

namespace Recon.Core.Ingestion.Statements;

/// <summary>One account's statement out of a bank file: a BAI2 account record (03…49) or a camt.053 <c>Stmt</c>.</summary>
/// <param name="Account">The account number or IBAN as the bank wrote it.</param>
/// <param name="Currency">ISO 4217 code of the account (BAI2: 03, else 02, else the spec's USD default; camt: <c>Acct/Ccy</c>, else the opening balance's).</param>
/// <param name="OpeningMinor">Opening booked balance in minor units (BAI2 010, camt OPBD or else PRCD), signed; null when the file has none in <paramref name="Currency"/>.</param>
/// <param name="ClosingMinor">Closing booked balance in minor units (BAI2 015, camt CLBD), signed; null when the file has none in <paramref name="Currency"/>.</param>
/// <param name="StatementDate">BAI2 as-of date; camt closing-balance date, else the statement's creation date.</param>
/// <param name="StatementId">BAI2 <c>fileId/group/account</c> ordinal; camt <c>Stmt/Id</c>.</param>
/// <param name="Transactions">The entries in canonical form, in file order (credit positive, debit negative).</param>
/// <remarks>
/// Balances are kept only in the statement currency: a camt balance in another currency (the synthetic genkgo
/// sample has four) cannot be compared with the entries, so it is reported as null rather than mixed in, and kept
/// with its currency in <see cref="OtherCurrencyBalances"/> (with a warning on the file) rather than dropped.
/// </remarks>
public sealed record BankStatement(
    string Account,
    string Currency,
    long? OpeningMinor,
    long? ClosingMinor,
    DateOnly? StatementDate,
    string? StatementId,
    IReadOnlyList<ProviderTransaction> Transactions)
{
    /// <summary>Balances the bank reported in another currency than <see cref="Currency"/> (camt <c>Bal</c> with its own
    /// <c>Ccy</c>): kept with their currency rather than dropped, never used as opening or closing.</summary>
    public IReadOnlyList<StatementBalance> OtherCurrencyBalances { get; init; } = [];
}

/// <summary>One reported balance: its type code (camt <c>OPBD</c>, <c>CLBD</c>, …), signed minor units of its own currency, and date.</summary>
public sealed record StatementBalance(string Type, long AmountMinor, string Currency, DateOnly? Date);

/// <summary>A whole parsed bank file. Parsers return it complete or throw <see cref="StatementFormatException"/>: never part of a file.</summary>
/// <param name="Format"><see cref="StatementFormats.Bai2"/> or <see cref="StatementFormats.Camt053"/>.</param>
/// <param name="Statements">The statements in file order.</param>
public sealed record BankStatementFile(string Format, IReadOnlyList<BankStatement> Statements)
{
    /// <summary>BAI: 2 (BAI2) or 3 (BTRS, X9.121); camt: the message version <c>NN</c> of <c>camt.053.001.NN</c>; null when unknown.</summary>
    public int? Version { get; init; }

    /// <summary>What was read but is worth a reader's attention (e.g. a balance in another currency than the account's), one sentence each.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

/// <summary>The format names used by <see cref="BankStatementFile.Format"/> and <c>recon parse --format</c>.</summary>
public static class StatementFormats
{
    public const string Bai2 = "bai2";
    public const string Camt053 = "camt053";
}
