//===- Layout.cpp - describing the emitted calls (docs/layout.md) ---------===//
//
// A v1 record stores no length, so a decoder must know how many fields each
// call passes. Every instrumented function is described twice:
//
//  - as a record in the section .kcovdf_layout, bound to the function by a
//    relocation to its address, so that the linked image itself says which
//    shape each pc has (whatever the linker did with names):
//        u64 pc, u32 length, u32 version, length bytes of JSON, zero padding
//        to 8 bytes;
//  - as a line of a JSON Lines file per module (-kcovdf-dataflow-layout-dir),
//    the readable form.
//
//===----------------------------------------------------------------------===//

#include "KcovDataflow.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/Constants.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/xxhash.h"
#include "llvm/Transforms/Utils/ModuleUtils.h"

namespace kcovdf {

const char *skipReasonName(SkipReason R) {
  switch (R) {
  case SkipReason::Untagged:
    return "optimized-out";
  case SkipReason::Partial:
    return "partly-optimized-out";
  case SkipReason::Dead:
    return "dead";
  case SkipReason::Mismatch:
    return "type-mismatch";
  case SkipReason::Rewritten:
    return "rewritten";
  case SkipReason::Undefined:
    return "undefined";
  case SkipReason::NoSlot:
    return "too-large";
  case SkipReason::MustTail:
    return "musttail";
  case SkipReason::Count:
    break;
  }
  return "?";
}

namespace {

json::Array fieldsJSON(const Shape &S) {
  json::Array Out;
  if (!S.Fields)
    return Out;
  for (const Field &F : *S.Fields) {
    json::Object O{{"name", F.Name}, {"off", F.Offset}, {"size", F.Size}};
    if (F.BitSize) {
      O["bit_off"] = F.BitOffset;
      O["bits"] = F.BitSize;
    }
    Out.push_back(std::move(O));
  }
  return Out;
}

// The parts of a value's description common to arguments and returns.
void describe(json::Object &O, const Shape &S) {
  O["type"] = S.TypeName;
  O["size"] = S.Size;
  if (S.Size > MaxWireSize)
    O["clamped"] = true; // the record's size field says 255
  if (S.Struct)
    O["struct"] = S.Struct->getName();
  O["fields"] = fieldsJSON(S);
  if (S.capped())
    O["capped"] = S.StructFields; // the struct's own count of fields
}

} // namespace

std::string layoutJSON(const Function &F, const FunctionPlan &FP) {
  StringRef Name = F.getName();
  Name.consume_front("\1"); // asm("label") names
  json::Object L{{"func", Name},
                 {"file", F.getParent()->getSourceFileName()},
                 {"static", F.hasLocalLinkage()}};
  if (const DISubprogram *SP = F.getSubprogram())
    L["line"] = SP->getLine();
  json::Array Args, Skipped;
  if (FP.Marker)
    Args.push_back(json::Object{{"idx", 0},
                                {"size", 0},
                                {"marker", true},
                                {"fields", json::Array()}});
  for (const ParamPlan &P : FP.Params) {
    json::Object O{{"idx", P.Param.Idx}, {"name", P.Param.Name}};
    if (!P.Plan) {
      O["type"] = P.S.TypeName;
      O["why"] = skipReasonName(P.Why);
      Skipped.push_back(std::move(O));
      continue;
    }
    describe(O, P.S);
    Args.push_back(std::move(O));
  }
  L["args"] = std::move(Args);
  if (!Skipped.empty())
    L["skipped"] = std::move(Skipped);
  if (FP.recordedRets() == 0) {
    L["ret"] = nullptr;
  } else if (FP.Void) {
    L["ret"] = json::Object{
        {"type", "void"}, {"size", 0}, {"fields", json::Array()}};
  } else {
    json::Object R;
    describe(R, FP.Ret);
    L["ret"] = std::move(R);
  }
  std::string Out;
  raw_string_ostream OS(Out);
  OS << json::Value(std::move(L));
  return OS.str();
}

GlobalVariable *addLayoutRecord(Module &M, GlobalValue *Target,
                                StringRef JSON) {
  LLVMContext &Ctx = M.getContext();
  // The pc word holds the address itself (a pointer-sized relocation),
  // which is 64 bits only on 64-bit targets.
  if (M.getDataLayout().getPointerSizeInBits(Target->getAddressSpace()) != 64)
    return nullptr;
  std::string Bytes = JSON.str();
  Bytes.resize(alignTo(Bytes.size(), 8), '\0');
  Constant *Text = ConstantDataArray::getString(Ctx, Bytes, false);
  Type *I32 = Type::getInt32Ty(Ctx);
  Constant *Init = ConstantStruct::getAnon(
      {Target, ConstantInt::get(I32, JSON.size()),
       ConstantInt::get(I32, LayoutRecordVersion), Text});
  auto *GV = new GlobalVariable(M, Init->getType(), /*isConstant=*/true,
                                GlobalValue::PrivateLinkage, Init,
                                "__kcovdf_layout");
  GV->setSection(LayoutSection);
  GV->setAlignment(Align(8));
  // A record goes (or is discarded) with its function's COMDAT group: C++
  // inline functions are kept once.
  if (const Comdat *C = Target->getAliaseeObject()->getComdat())
    GV->setComdat(const_cast<Comdat *>(C));
  appendToCompilerUsed(M, {GV});
  return GV;
}

Error writeLayoutFile(const Module &M, StringRef Dir, StringRef Lines) {
  std::string Key = M.getModuleIdentifier() + '\0' + M.getSourceFileName();
  SmallString<256> Path(Dir);
  sys::path::append(Path, "kcovdf-" + utohexstr(xxh3_64bits(Key), true, 16) +
                              "-" + utostr(sys::Process::getProcessId()) +
                              ".jsonl");
  std::string Tmp = (Path + ".tmp").str();
  auto Fail = [&](const Twine &What, std::error_code EC) {
    return createStringError(EC, What + ": " + EC.message());
  };
  if (std::error_code EC = sys::fs::create_directories(Dir))
    return Fail("create " + Dir, EC);
  {
    std::error_code EC;
    raw_fd_ostream OS(Tmp, EC, sys::fs::OF_None);
    if (EC)
      return Fail("open " + Tmp, EC);
    OS << Lines;
    OS.close();
    if (OS.has_error())
      return Fail("write " + Tmp, OS.error());
  }
  if (std::error_code EC = sys::fs::rename(Tmp, Path))
    return Fail("rename " + Tmp, EC);
  return Error::success();
}

} // namespace kcovdf
