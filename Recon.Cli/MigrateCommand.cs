using Microsoft.Extensions.Configuration;
using Recon.Core.Persistence;

namespace Recon.Cli;

internal static class MigrateCommand
{
    public static async Task<int> RunAsync(string[] args, IConfiguration configuration)
    {
        var options = configuration.GetSection(DatabaseOptions.SectionName).Get<DatabaseOptions>() ?? new DatabaseOptions();
        await using var dataSource = ReconDataSource.Create(options);
        var ran = await Migrator.ApplyAsync(dataSource).ConfigureAwait(false);
        Console.WriteLine(ran.Count == 0
            ? $"migrations: up to date ({Migrator.Embedded.Count} applied)"
            : $"migrations: applied {string.Join(", ", ran.Select(m => $"{m.Version:D4}_{m.Name}"))}");
        return 0;
    }
}
