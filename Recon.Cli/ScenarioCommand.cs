using System.Globalization;
using Microsoft.Extensions.Configuration;
using Recon.Core.Persistence;
using Recon.Sandbox;
using Recon.Sandbox.Scenarios;

namespace Recon.Cli;

/// <summary><c>recon scenario --seed N --size N [--out-truth FILE]</c>: generates a scenario into the ledger and the running sandboxes.</summary>
internal static class ScenarioCommand
{
    private const string Usage = "usage: recon scenario --seed N --size N [--out-truth FILE]";

    public static async Task<int> RunAsync(string[] args, IConfiguration configuration)
    {
        int? seed = null, size = null;
        string? truthFile = null;
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : throw new UsageException($"{args[i]} needs a value. {Usage}");
            switch (args[i])
            {
                case "--seed": seed = Int(value, "--seed"); i++; break;
                case "--size": size = Int(value, "--size"); i++; break;
                case "--out-truth": truthFile = value; i++; break;
                default: throw new UsageException($"unexpected argument '{args[i]}'. {Usage}");
            }
        }
        if (seed is null || size is null)
        {
            throw new UsageException(Usage);
        }
        if (size is < 1 or > ScenarioGenerator.MaxSize)
        {
            throw new UsageException($"--size must be between 1 and {ScenarioGenerator.MaxSize}");
        }
        var url = configuration["Recon:Sandbox:Url"];
        var adminKey = configuration["Recon:Sandbox:AdminKey"];
        if (string.IsNullOrEmpty(url) || string.IsNullOrEmpty(adminKey))
        {
            throw new UsageException("Recon:Sandbox:Url and Recon:Sandbox:AdminKey are not set: run ./recon up first (it writes them to .recon/env)");
        }
        var scenario = ScenarioGenerator.Generate(seed.Value, size.Value);
        var options = configuration.GetSection(DatabaseOptions.SectionName).Get<DatabaseOptions>() ?? new DatabaseOptions();
        await using var dataSource = ReconDataSource.Create(options);
        await Migrator.ApplyAsync(dataSource).ConfigureAwait(false);
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
        await ScenarioLoader.LoadAsync(scenario, dataSource, new SandboxAdminClient(http, url, adminKey), CancellationToken.None).ConfigureAwait(false);
        if (truthFile is not null)
        {
            await using var writer = new StreamWriter(truthFile);
            TruthCsv.Write(writer, scenario.Truth);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"scenario seed {seed} size {size}: {scenario.Ledger.Count} ledger entries, {scenario.StripeBalanceTransactions.Count} Stripe balance transactions, " +
            $"{scenario.PlaidEvents.Count} Plaid changes (item {scenario.PlaidAccessToken}), {scenario.BankAStatements.Count} bank A and {scenario.BankBStatements.Count} bank B statements, " +
            $"{scenario.Truth.Count} truth rows{(truthFile is null ? "" : $" in {truthFile}")}"));
        return 0;
    }

    private static int Int(string text, string name)
        => int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : throw new UsageException($"{name} '{text}' is not an integer");
}
