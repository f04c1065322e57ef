using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using NetDumplings.Hub;

namespace NetDumplings.Bench;

/// <summary>
/// The servers the hub benchmark measures, each run in a child process of its own so its CPU time
/// and peak memory can be read from /proc: our hub, and a plain TCP relay (the ceiling).
/// </summary>
public static class BenchServers
{
    /// <summary>Entry point of the child process: `--serve hub|relay [eaterQueue]`; prints "in out" ports, runs until stdin closes.</summary>
    public static async Task<int> ServeAsync(string kind)
    {
        if (kind is "hub" or "hubtls")
        {
            await using var hub = new DumplingHub(new DumplingHubOptions
            {
                Address = "127.0.0.1", InPort = 0, OutPort = 0, StatusInterval = TimeSpan.Zero,
                // The handshake-cost run opens hundreds of connections one after another.
                MaxConnectionsPerAddress = 100_000, MaxKitchenConnections = 100_000, MaxEaterConnections = 100_000, MaxConnections = 100_000,
                Certificate = kind == "hubtls" ? BenchCertificate() : null,
            });
            await hub.StartAsync();
            Console.WriteLine($"{hub.InEndPoint.Port} {hub.OutEndPoint.Port}");
            await Console.In.ReadToEndAsync();
            return 0;
        }
        var relay = new TcpRelay();
        Console.WriteLine($"{relay.InPort} {relay.OutPort}");
        await Console.In.ReadToEndAsync();
        return 0;
    }

    /// <summary>A self-signed ECDSA P-256 certificate for 127.0.0.1, as a small deployment would make one.</summary>
    private static System.Security.Cryptography.X509Certificates.X509Certificate2 BenchCertificate()
    {
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=127.0.0.1", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        var san = new System.Security.Cryptography.X509Certificates.SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    /// <summary>Reads from writers on one port and copies every chunk to every reader on the other.</summary>
    private sealed class TcpRelay
    {
        private readonly TcpListener _in = new(IPAddress.Loopback, 0);
        private readonly TcpListener _out = new(IPAddress.Loopback, 0);
        private NetworkStream[] _readers = [];

        public TcpRelay()
        {
            _in.Start();
            _out.Start();
            _ = AcceptWritersAsync();
            _ = AcceptReadersAsync();
        }

        public int InPort => ((IPEndPoint)_in.LocalEndpoint).Port;
        public int OutPort => ((IPEndPoint)_out.LocalEndpoint).Port;

        private async Task AcceptReadersAsync()
        {
            while (true)
            {
                var client = await _out.AcceptTcpClientAsync();
                client.NoDelay = true;
                _readers = [.. _readers, client.GetStream()];
            }
        }

        private async Task AcceptWritersAsync()
        {
            while (true)
            {
                var client = await _in.AcceptTcpClientAsync();
                _ = Task.Run(async () =>
                {
                    var stream = client.GetStream();
                    var buffer = new byte[64 * 1024];
                    int n;
                    while ((n = await stream.ReadAsync(buffer)) > 0)
                    {
                        var chunk = buffer.AsMemory(0, n);
                        var readers = _readers;
                        var writes = readers.Select(async r =>
                        {
                            try { await r.WriteAsync(chunk); return true; }
                            catch (IOException) { return false; }
                        });
                        var alive = await Task.WhenAll(writes);
                        if (alive.Contains(false)) _readers = readers.Where((_, i) => alive[i]).ToArray();
                    }
                });
            }
        }
    }
}

/// <summary>A server child process: its ports, CPU time and peak memory.</summary>
public sealed class ServerProcess : IDisposable
{
    private readonly Process _process;

    public ServerProcess(string kind)
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        var self = typeof(ServerProcess).Assembly.Location;
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") psi.ArgumentList.Add(self);
        psi.ArgumentList.Add("--serve");
        psi.ArgumentList.Add(kind);
        _process = Process.Start(psi)!;
        var ports = _process.StandardOutput.ReadLine()!.Split(' ');
        InPort = int.Parse(ports[0]);
        OutPort = int.Parse(ports[1]);
    }

    public int InPort { get; }
    public int OutPort { get; }

    /// <summary>User + system CPU time so far.</summary>
    public TimeSpan CpuTime
    {
        get { _process.Refresh(); return _process.TotalProcessorTime; }
    }

    /// <summary>Peak resident memory (VmHWM) in bytes.</summary>
    public long PeakMemory
    {
        get
        {
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
                if (line.StartsWith("VmHWM:")) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
            return -1;
        }
    }

    /// <summary>Current resident memory (VmRSS) in bytes.</summary>
    public long Memory
    {
        get
        {
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
                if (line.StartsWith("VmRSS:")) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
            return -1;
        }
    }

    public void Dispose()
    {
        try { _process.StandardInput.Close(); } catch (IOException) { }
        if (!_process.WaitForExit(5000)) _process.Kill();
        _process.Dispose();
    }
}
