using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Rampart.Core.Dane;
using Rampart.Core.MtaSts;
using Rampart.Core.Policy;
using Rampart.Postfix.Socketmap;

namespace Rampart.Cli.Commands;

/// <summary><c>rampart resolve DOMAIN [--json]</c>: the sender decision for one domain, every step shown, and the Postfix reply.</summary>
internal static class ResolveCommand
{
    public static Command Create()
    {
        var domain = DomainArgument.MailDomain("domain", "Destination domain (the part after @).");
        var json = new Option<bool>("--json") { Description = "Write the decision as JSON (keys: domain, policy, postfix, mx, evidence; a step that waited on the network has start_ms and end_ms, from the decision's start)." };
        var strictTesting = new Option<bool>("--strict-testing") { Description = "Enforce MTA-STS policies in testing mode too." };
        var timeout = OptionValues.Seconds("--timeout", "Total timeout of the MTA-STS policy fetch, in seconds.", 10);
        var command = new Command("resolve",
            "Decide how strictly TLS must be enforced towards DOMAIN (DANE, then MTA-STS, then pinned, else none) and show " +
            "every step, its evidence and the exact Postfix socketmap reply. Exit 0 when a decision was made, 75 when it is " +
            "to defer (tempfail), 2 on unusable options.")
        {
            domain, json, strictTesting, timeout,
        };
        command.WithNetwork(webPki: true).WithSenderPolicies();
        command.SetAction((parse, ct) => Verb.RunAsync(async () =>
        {
            var seconds = parse.GetValue(timeout);
            var services = Services.Create(parse);
            services.WriteWarnings();
            var fetch = new MtaStsFetchSettings { TotalTimeout = TimeSpan.FromSeconds(seconds), ConnectTimeout = TimeSpan.FromSeconds(Math.Min(5, seconds)) };
            var resolver = services.SenderPolicy(fetch, new SenderPolicySettings { StrictTesting = parse.GetValue(strictTesting) });
            var decision = await resolver.DecideAsync(DomainArgument.Parsed(parse.GetValue(domain)!), ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                WriteJson(decision);
            }
            else
            {
                WriteHuman(decision);
            }
            return decision.Kind == SenderPolicyKind.TempFail ? ExitCodes.TempFail : ExitCodes.Ok;
        }, ct));
        return command;
    }

    private static void WriteHuman(SenderPolicyDecision decision)
    {
        Console.WriteLine($"Destination {decision.Domain}");
        foreach (var e in decision.Evidence)
        {
            Console.WriteLine($"  {Terminal.Outcome(e.Outcome)}  {e.Step,-17} {Timing(decision, e),11} {e.Message}" + (e.Reference is null ? "" : Terminal.Paint($"  [{e.Reference}]", ConsoleColor.Gray)));
        }
        Console.WriteLine($"Policy:  {Terminal.Paint(SenderPolicyDecision.KindName(decision.Kind), ConsoleColor.Cyan)}");
        Console.WriteLine($"Postfix: {SocketmapPolicyReply.For(decision).Text}");
    }

    /// <summary>"12-63 ms": when the step's lookup ran, in ms from the decision's start; blank for a step that did not wait.</summary>
    private static string Timing(SenderPolicyDecision decision, Evidence e) =>
        e.Timing?.From(decision.StartedAt) is (var start, var end) ? string.Create(CultureInfo.InvariantCulture, $"{start:0}-{end:0} ms") : "";

    private static void WriteJson(SenderPolicyDecision decision)
    {
        JsonShapes.WriteStdout(w =>
        {
            w.WriteStartObject();
            w.WriteString("domain", decision.Domain);
            w.WriteString("policy", SenderPolicyDecision.KindName(decision.Kind));
            w.WriteString("postfix", SocketmapPolicyReply.For(decision).Text);
            w.WriteStartArray("mx");
            foreach (var mx in decision.Mx)
            {
                w.WriteStringValue(mx);
            }
            w.WriteEndArray();
            if (decision.Dane is { } dane)
            {
                w.WriteStartArray("dane");
                foreach (var host in dane)
                {
                    w.WriteStartObject();
                    JsonShapes.WriteDaneHost(w, host);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            if (decision.MtaStsPolicy is { } policy)
            {
                w.WritePropertyName("mta_sts");
                JsonShapes.WritePolicy(w, policy);
            }
            w.WriteStartArray("evidence");
            foreach (var e in decision.Evidence)
            {
                w.WriteStartObject();
                w.WriteString("step", e.Step);
                w.WriteString("outcome", Evidence.OutcomeName(e.Outcome));
                w.WriteString("message", e.Message);
                if (e.Reference is not null)
                {
                    w.WriteString("reference", e.Reference);
                }
                if (e.Timing?.From(decision.StartedAt) is (var startMs, var endMs))
                {
                    w.WriteNumber("start_ms", Math.Round(startMs, 1));
                    w.WriteNumber("end_ms", Math.Round(endMs, 1));
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }
}
