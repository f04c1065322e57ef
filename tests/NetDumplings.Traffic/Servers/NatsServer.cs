using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace NetDumplings.Traffic.Servers;

/// <summary>
/// A real nats-server (Debian's) for the mesh tests and bench: on 127.0.0.1, on a free port, with a
/// config this writes (user and password required, or a token), started and stopped by its owner; a
/// restart keeps the port.
/// </summary>
public sealed class NatsServer : IAsyncDisposable
{
    public const string User = "hub";
    public const string Password = "mesh-test-password";

    private static readonly string[] Candidates = ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"];

    /// <summary>The nats-server program, or null when it is not installed.</summary>
    public static string? Program => Candidates.FirstOrDefault(File.Exists);

    public const string Advice = "nats-server is not installed: apt-get install nats-server (build.ps1 -Task Test does, as root).";

    private readonly string _directory = Directory.CreateTempSubdirectory("nd-nats-").FullName;
    private Process? _process;

    public int Port { get; }
    public string Url => $"nats://127.0.0.1:{Port}";

    private NatsServer(int port) => Port = port;

    /// <summary>Starts a server that requires <see cref="User"/> and <see cref="Password"/>, or <paramref name="token"/> when one is given.</summary>
    public static async Task<NatsServer> StartAsync(string? token = null)
    {
        var server = new NatsServer(FreePort());
        var authorization = token is null ? $"user: \"{User}\"\n  password: \"{Password}\"" : $"token: \"{token}\"";
        File.WriteAllText(server.ConfigPath, $"listen: \"127.0.0.1:{server.Port}\"\nauthorization {{\n  {authorization}\n}}\n");
        await server.StartAgainAsync();
        return server;
    }

    private string ConfigPath => Path.Combine(_directory, "nats.conf");

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts the server (again, on the same port) and waits until it accepts connections.</summary>
    public async Task StartAgainAsync()
    {
        var info = new ProcessStartInfo(Program ?? throw new InvalidOperationException(Advice), ["-c", ConfigPath])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _process = Process.Start(info)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                await Task.Delay(50);
            }
        }
    }

    /// <summary>Stops the server at once (as a crash would) and waits for it to be gone.</summary>
    public async Task StopAsync()
    {
        if (_process is not { } process) return;
        _process = null;
        try
        {
            if (!process.HasExited) process.Kill();
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(wait.Token);
        }
        catch (InvalidOperationException) { }
        finally { process.Dispose(); }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
