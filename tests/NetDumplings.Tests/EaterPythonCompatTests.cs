using System.Diagnostics;
using NetDumplings.Eater;
using NetDumplings.Sending;

namespace NetDumplings.Tests;

/// <summary>
/// DumplingEater and DumplingSender beside peers that are not ours: a kitchen and an eater written
/// with Debian's python3-websockets (the library the original netdumplings is built on), all
/// through our hub. The Python kitchen's dumplings reach our eater (filtered on a wildcard); our
/// sender's reach the Python eater, which closes with 4102 as nd-print does.
/// </summary>
public class EaterPythonCompatTests
{
    private const string Python = "/usr/bin/python3";

    private const string Script = """
        import asyncio, json, sys, time
        import websockets

        IN_URI, OUT_URI = sys.argv[1], sys.argv[2]

        async def eater(done):
            async with websockets.connect(OUT_URI) as ws:
                await ws.send(json.dumps({"eater_name": "python_eater"}))
                got = []
                while len(got) < 3:
                    msg = json.loads(await ws.recv())
                    if msg["metadata"]["kitchen"] == "csharp_kitchen":
                        got.append(msg)
                await ws.close(code=4102, reason="dumpling eater is full")
            for d in got:
                print(json.dumps(d), flush=True)
            done.set()

        async def kitchen(done):
            async with websockets.connect(IN_URI) as ws:
                await ws.send(json.dumps({"kitchen_name": "python_kitchen", "interface": "all", "filter": "",
                    "chefs": ["PyChef"], "poke_interval": 5.0}))
                for i in range(400):  # at most ~20 s
                    for chef in ("PyChef", "OtherChef"):
                        await ws.send(json.dumps({"metadata": {"chef": chef, "kitchen": "python_kitchen",
                            "creation_time": time.time(), "driver": "packet"}, "payload": {"n": i}}))
                    if done.is_set() and i > 100:
                        break
                    await asyncio.sleep(0.05)

        async def main():
            done = asyncio.Event()
            await asyncio.wait_for(asyncio.gather(eater(done), kitchen(done)), timeout=30)

        asyncio.run(main())
        """;

    [SkippableFact]
    public async Task Our_eater_and_sender_work_with_python_websockets_peers()
    {
        Skip.IfNot(File.Exists(Python) && RunQuiet("-c \"import websockets\"") == 0,
            "Debian's python3-websockets is not installed: apt-get install python3-websockets");

        await using var hub = await HubFixture.StartAsync();
        var eater = new DumplingEater(hub.EaterOptions("csharp_eater") with { Chefs = ["Py*"], Count = 3 });
        var eating = Task.Run(async () =>
        {
            var got = new List<Dumpling>();
            await foreach (var d in eater.EatAsync(TestTime.Token())) got.Add(d);
            return got;
        });
        await hub.WaitForEaterAsync("csharp_eater");

        var script = Path.Combine(Path.GetTempPath(), $"nd-eater-compat-{Guid.NewGuid():n}.py");
        await File.WriteAllTextAsync(script, Script);
        try
        {
            var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(script);
            psi.ArgumentList.Add(hub.InAddress.Uri.ToString());
            psi.ArgumentList.Add(hub.OutAddress.Uri.ToString());
            using var python = Process.Start(psi)!;
            var stdout = python.StandardOutput.ReadToEndAsync();
            var stderr = python.StandardError.ReadToEndAsync();
            await hub.WaitForEaterAsync("python_eater");

            // Our kitchen feeds until the Python eater has its three (bounded by the test's limit).
            await using (var sender = await DumplingSender.ConnectAsync(hub.InAddress, new KitchenAnnouncement("csharp_kitchen")))
            {
                for (var i = 0; i < 600 && !python.HasExited; i++)
                {
                    await sender.SendAsync(DumplingCodec.Create("CSharpChef", "csharp_kitchen", DumplingDriver.Packet,
                        new Dictionary<string, object> { ["n"] = i, ["text"] = "żółw" }));
                    await Task.Delay(50);
                }
                await sender.CompleteAsync();
            }
            Assert.True(python.WaitForExit(30_000), "the Python peers did not finish");
            Assert.True(python.ExitCode == 0, await stderr);

            var fromUs = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => DumplingCodec.Parse(l)).ToList();
            Assert.Equal(3, fromUs.Count);
            Assert.All(fromUs, d => Assert.Equal("CSharpChef", d.Chef));
            Assert.All(fromUs, d => Assert.Equal("żółw", d.PayloadElement.GetProperty("text").GetString()));
            var ns = fromUs.Select(d => d.PayloadElement.GetProperty("n").GetInt32()).ToArray();
            Assert.Equal([ns[0], ns[0] + 1, ns[0] + 2], ns);
            Assert.Contains("(close 4102 dumpling eater is full)", await hub.WaitForLogAsync("Disconnected eater 'python_eater'"));

            var fromPython = await eating.WaitAsync(TestTime.Limit);
            Assert.All(fromPython, d => Assert.Equal("PyChef", d.Chef));
            Assert.All(fromPython, d => Assert.Equal("python_kitchen", d.Kitchen));
            var pns = fromPython.Select(d => d.PayloadElement.GetProperty("n").GetInt32()).ToArray();
            Assert.Equal([pns[0], pns[0] + 1, pns[0] + 2], pns);
        }
        finally
        {
            File.Delete(script);
        }
    }

    private static int RunQuiet(string args)
    {
        using var p = Process.Start(new ProcessStartInfo(Python, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        p.WaitForExit(10_000);
        return p.ExitCode;
    }
}
