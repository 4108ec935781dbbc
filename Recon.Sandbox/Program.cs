using Recon.Sandbox;

// The sandbox process `./recon up` starts: settings from Sandbox__* environment variables (keys from .recon/secrets.env).
var configuration = new ConfigurationBuilder().AddEnvironmentVariables().AddCommandLine(args).Build();
var options = configuration.GetSection(SandboxOptions.SectionName).Get<SandboxOptions>() ?? new SandboxOptions();
await using var sandbox = await SandboxHost.StartAsync(options);
Console.WriteLine($"recon sandbox listening on {sandbox.BaseUrl}");
await sandbox.WaitForShutdownAsync();
