using Npgsql;
using NpgsqlTypes;
using Recon.Core.Domain;
using Recon.Sandbox.Banks;

namespace Recon.Sandbox.Scenarios;

/// <summary>The I/O half of scenarios: writes the ledger to PostgreSQL and the provider side into a running sandbox.</summary>
public static class ScenarioLoader
{
    /// <summary>Rows per insert: large enough to load 100k entries in seconds, small enough for PgBouncer's query size.</summary>
    public const int LedgerBatchRows = 5_000;

    /// <summary>Stripe objects per admin call, so a large scenario is not one giant request body.</summary>
    public const int SandboxBatchObjects = 5_000;

    public static async Task LoadAsync(Scenario scenario, NpgsqlDataSource dataSource, SandboxAdminClient sandbox, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        await WriteLedgerAsync(dataSource, scenario.Ledger, cancellationToken).ConfigureAwait(false);
        await LoadSandboxAsync(sandbox, scenario, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Inserts the entries; an entry already there with the same id is left as it is (re-loading is harmless).</summary>
    public static async Task<int> WriteLedgerAsync(NpgsqlDataSource dataSource, IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(entries);
        var written = 0;
        foreach (var chunk in entries.Chunk(LedgerBatchRows))
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var cmd = new NpgsqlCommand("""
                insert into ledger_entries (id, account, amount_minor, currency, value_date, reference, external_ref, counterparty, description)
                select * from unnest(@id, @account, @amount, @currency, @date, @ref, @ext, @cp, @desc)
                on conflict (id) do nothing
                """, connection);
            cmd.Parameters.Add(new NpgsqlParameter<string[]>("id", chunk.Select(e => e.Id).ToArray()));
            cmd.Parameters.Add(new NpgsqlParameter<string[]>("account", chunk.Select(e => e.Account).ToArray()));
            cmd.Parameters.Add(new NpgsqlParameter<long[]>("amount", chunk.Select(e => e.AmountMinor).ToArray()));
            cmd.Parameters.Add(new NpgsqlParameter<string[]>("currency", chunk.Select(e => e.Currency).ToArray()));
            cmd.Parameters.Add(new NpgsqlParameter<DateOnly[]>("date", chunk.Select(e => e.ValueDate).ToArray()) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Date });
            foreach (var (name, pick) in new (string, Func<LedgerEntry, string?>)[] { ("ref", e => e.Reference), ("ext", e => e.ExternalRef), ("cp", e => e.Counterparty), ("desc", e => e.Description) })
            {
                cmd.Parameters.Add(new NpgsqlParameter<string?[]>(name, chunk.Select(pick).ToArray()) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            }
            written += await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        return written;
    }

    public static async Task LoadSandboxAsync(SandboxAdminClient sandbox, Scenario scenario, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sandbox);
        ArgumentNullException.ThrowIfNull(scenario);
        foreach (var (type, objects) in new[] { ("balance_transaction", scenario.StripeBalanceTransactions), ("charge", scenario.StripeCharges), ("payout", scenario.StripePayouts) })
        {
            foreach (var chunk in objects.Chunk(SandboxBatchObjects))
            {
                await sandbox.LoadStripeAsync(type, chunk, cancellationToken).ConfigureAwait(false);
            }
        }
        foreach (var chunk in scenario.PlaidEvents.Chunk(SandboxBatchObjects))
        {
            await sandbox.AppendPlaidEventsAsync(scenario.PlaidAccessToken, chunk, cancellationToken).ConfigureAwait(false);
        }
        await sandbox.LoadBankStatementsAsync(BankStore.BankA, scenario.BankAStatements, cancellationToken).ConfigureAwait(false);
        await sandbox.LoadBankStatementsAsync(BankStore.BankB, scenario.BankBStatements, cancellationToken).ConfigureAwait(false);
    }
}
