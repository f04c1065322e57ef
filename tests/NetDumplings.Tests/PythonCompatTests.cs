using System.Diagnostics;
using NetDumplings.Hub;
using static NetDumplings.Tests.HubTestClient;

namespace NetDumplings.Tests;

/// <summary>
/// Our hub against a WebSocket implementation that is not ours: Debian's python3-websockets, the
/// library the original netdumplings is built on, as kitchen and eater, speaking as nd-sniff and
/// nd-print do (permessage-deflate offered, ensure_ascii JSON, close 4102 when full).
/// </summary>
public class PythonCompatTests
{
    private const string Python = "/usr/bin/python3";

    private const string Script = """
        import asyncio, json, sys, time
        import websockets

        IN_URI, OUT_URI = sys.argv[1], sys.argv[2]

        async def eater(results):
            async with websockets.connect(OUT_URI) as ws:
                await ws.send(json.dumps({"eater_name": "pythoneater"}))
                results["eater_ready"].set()
                got = []
                while len(got) < 3:
                    msg = json.loads(await ws.recv())
                    if msg["metadata"]["chef"] != "SystemStatusChef":
                        got.append(msg)
                await ws.close(code=4102, reason="dumpling eater is full")
                results["eaten"] = got

        async def kitchen(results):
            await results["eater_ready"].wait()
            await asyncio.sleep(0.5)
            async with websockets.connect(IN_URI) as ws:
                await ws.send(json.dumps({"kitchen_name": "pythonkitchen", "interface": "all",
                    "filter": "tcp or udp or arp", "chefs": ["netdumplings.dumplingchefs.DNSLookupChef"], "poke_interval": 5.0}))
                for i, host in enumerate(["example.com", "żółw.pl", "北京.cn"]):
                    await ws.send(json.dumps({"metadata": {"chef": "DNSLookupChef", "kitchen": "pythonkitchen",
                        "creation_time": time.time(), "driver": "packet"},
                        "payload": {"lookup": {"hostname": host, "when": time.time()}}}))
                await asyncio.sleep(1.0)

        async def main():
            results = {"eater_ready": asyncio.Event()}
            await asyncio.wait_for(asyncio.gather(eater(results), kitchen(results)), timeout=20)
            for d in results["eaten"]:
                print(json.dumps(d, ensure_ascii=False))

        asyncio.run(main())
        """;

    [SkippableFact]
    public async Task PythonKitchenAndEaterWorkWithOurHub()
    {
        Skip.IfNot(File.Exists(Python) && RunQuiet("-c \"import websockets\"") == 0, "Debian's python3-websockets is not installed: apt-get install python3-websockets");

        var log = new List<string>();
        await using var hub = await StartHubAsync();
        hub.Log += (_, e) => { lock (log) log.Add(e.Message); };
        var script = Path.Combine(Path.GetTempPath(), $"nd-compat-{Guid.NewGuid():n}.py");
        await File.WriteAllTextAsync(script, Script);
        try
        {
            var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(script);
            psi.ArgumentList.Add($"ws://{hub.InEndPoint}/");
            psi.ArgumentList.Add($"ws://{hub.OutEndPoint}/");
            using var process = Process.Start(psi)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            Assert.True(process.WaitForExit(30_000), "the Python peers did not finish");
            Assert.True(process.ExitCode == 0, await stderr);

            var lines = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(3, lines.Length);
            var hosts = lines.Select(l => DumplingCodec.Parse(l)).Select(d => d.PayloadElement.GetProperty("lookup").GetProperty("hostname").GetString()!).ToArray();
            Assert.Equal(["example.com", "żółw.pl", "北京.cn"], hosts);
            await WaitUntilAsync(() => { lock (log) return log.Any(l => l.Contains("Disconnected eater 'pythoneater'") && l.Contains("4102")); }, "eater's 4102 close seen");
            lock (log) Assert.Contains(log, l => l.Contains("Connected kitchen 'pythonkitchen'"));
            Assert.Equal(3, hub.DumplingsIn);
        }
        finally
        {
            File.Delete(script);
        }
    }

    /// <summary>
    /// nd-sniff and nd-print put whatever --hub says after ws://, so a token travels as ?token= in the
    /// URL: the same peers work with a hub that requires tokens, and without the token get a 401.
    /// </summary>
    [SkippableFact]
    public async Task PythonKitchenAndEaterWorkWithATokenInTheUrl()
    {
        Skip.IfNot(File.Exists(Python) && RunQuiet("-c \"import websockets\"") == 0, "Debian's python3-websockets is not installed: apt-get install python3-websockets");
        await using var hub = await StartHubAsync(new DumplingHubOptions
        {
            KitchenToken = new NetDumplings.Protocol.AccessToken("k-T0ken"),
            EaterToken = new NetDumplings.Protocol.AccessToken("e-T0ken"),
        });
        var script = Path.Combine(Path.GetTempPath(), $"nd-compat-{Guid.NewGuid():n}.py");
        await File.WriteAllTextAsync(script, Script);
        try
        {
            var (exit, stdout, stderr) = await RunScriptAsync(script, $"ws://{hub.InEndPoint}/?token=k-T0ken", $"ws://{hub.OutEndPoint}/?token=e-T0ken");
            Assert.True(exit == 0, stderr);
            Assert.Equal(3, stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
            Assert.Equal(3, hub.DumplingsIn);

            (exit, _, stderr) = await RunScriptAsync(script, $"ws://{hub.InEndPoint}/", $"ws://{hub.OutEndPoint}/?token=k-T0ken");
            Assert.NotEqual(0, exit);
            Assert.Contains("401", stderr);
            Assert.Equal(1, hub.GetStatus().RefusedConnections);
        }
        finally
        {
            File.Delete(script);
        }
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunScriptAsync(string script, string inUri, string outUri)
    {
        var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(inUri);
        psi.ArgumentList.Add(outUri);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(30_000), "the Python peers did not finish");
        return (process.ExitCode, await stdout, await stderr);
    }

    private static int RunQuiet(string args)
    {
        using var p = Process.Start(new ProcessStartInfo(Python, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        p.WaitForExit(10_000);
        return p.ExitCode;
    }
}
