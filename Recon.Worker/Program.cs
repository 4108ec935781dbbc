using Recon.Worker;

var app = WorkerApp.Build(args);
await app.RunAsync().ConfigureAwait(false);
