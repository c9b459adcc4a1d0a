// The mlpol extension: the `mlpol` language (grammar and configuration in
// package.json) and a client for `mlpol lsp`, which provides diagnostics,
// hover, completion, go to definition and references, symbols, formatting,
// semantic tokens, quick fixes and code lenses. The server registers the
// `mlpol.evaluate` command itself; the client forwards it.
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function serverOptions() {
  const command = vscode.workspace.getConfiguration("mlpol").get("server.path", "mlpol");
  const run = { command, args: ["lsp"] };
  return { run, debug: run };
}

async function start(context) {
  client = new LanguageClient(
    "mlpol",
    "mlpol language server",
    serverOptions(),
    {
      documentSelector: [{ scheme: "file", language: "mlpol" }, { scheme: "untitled", language: "mlpol" }],
      synchronize: {
        fileEvents: vscode.workspace.createFileSystemWatcher("**/*.mlpol"),
      },
    }
  );
  try {
    await client.start();
  } catch (err) {
    vscode.window.showErrorMessage(
      `mlpol: cannot start \`${serverOptions().run.command} lsp\` (${err}). Set "mlpol.server.path" to the mlpol binary.`
    );
  }
}

async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand("mlpol.restartServer", async () => {
      if (client) {
        await client.stop();
      }
      await start(context);
    })
  );
  await start(context);
}

async function deactivate() {
  if (client) {
    await client.stop();
  }
}

module.exports = { activate, deactivate };
