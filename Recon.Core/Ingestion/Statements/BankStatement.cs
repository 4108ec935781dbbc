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
/// sample has four) cannot be compared with the entries, so it is reported as null rather than mixed in.
/// </remarks>
public sealed record BankStatement(
    string Account,
    string Currency,
    long? OpeningMinor,
    long? ClosingMinor,
    DateOnly? StatementDate,
    string? StatementId,
    IReadOnlyList<ProviderTransaction> Transactions);

/// <summary>A whole parsed bank file. Parsers return it complete or throw <see cref="StatementFormatException"/>: never part of a file.</summary>
/// <param name="Format"><see cref="StatementFormats.Bai2"/> or <see cref="StatementFormats.Camt053"/>.</param>
/// <param name="Statements">The statements in file order.</param>
public sealed record BankStatementFile(string Format, IReadOnlyList<BankStatement> Statements);

/// <summary>The format names used by <see cref="BankStatementFile.Format"/> and <c>recon parse --format</c>.</summary>
public static class StatementFormats
{
    public const string Bai2 = "bai2";
    public const string Camt053 = "camt053";
}
