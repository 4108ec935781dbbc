namespace Recon.Tests.Infrastructure;

/// <summary>
/// Tests that load the shared PostgreSQL on purpose — the spike benchmark's naive mode opens connections until the
/// server refuses them, the no-bulkhead test fills PgBouncer's whole pool — and the pipeline's end-to-end tests, whose
/// workers (one killed with -9 and restarted) need the 2 cores to finish their run, run in this collection, alone,
/// after the parallel ones: beside them, other tests meet "too many clients" while opening their own databases.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ExclusiveServerLoad
{
    public const string Name = "exclusive server load";
}
